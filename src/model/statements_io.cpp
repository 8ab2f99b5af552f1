// Reading precomputed statement embeddings from files: kept apart from the modules, which
// never see a file name.
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/model/statements.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {

std::shared_ptr<PrecomputedStatementEncoderImpl> load_precomputed_statements(const std::string& npy_path,
                                                                            const std::string& json_path,
                                                                            int64_t max_statements) {
  const io::NpyArray array = io::read_npy(npy_path);
  if (array.shape.size() != 2 || array.shape[0] < 1 || array.shape[1] < 1)
    throw InputError(npy_path, "expected a non-empty 2-D matrix [statements, embedding_dim]");
  std::vector<float> values = array.to_float();
  torch::Tensor matrix = torch::from_blob(values.data(), {array.shape[0], array.shape[1]}, torch::kFloat32).clone();
  if (!torch::isfinite(matrix).all().item<bool>()) throw InputError(npy_path, "embeddings must be finite");

  std::ifstream in(json_path);
  if (!in) throw InputError(json_path, "cannot open the statement list");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json list;
  try {
    list = nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(json_path, std::string("not valid JSON: ") + e.what());
  }
  if (!list.is_array()) throw InputError(json_path, "expected a JSON array of statements");
  std::vector<std::string> statements;
  for (const auto& item : list) {
    if (!item.is_string()) throw InputError(json_path, "every entry must be a statement string");
    statements.push_back(item.get<std::string>());
  }
  if (static_cast<int64_t>(statements.size()) != array.shape[0])
    throw InputError(json_path, "lists " + std::to_string(statements.size()) + " statements but " + npy_path +
                                    " has " + std::to_string(array.shape[0]) + " rows");
  return std::make_shared<PrecomputedStatementEncoderImpl>(std::move(statements), matrix, max_statements);
}

}  // namespace ecgtwin::model
