#include "ecgtwin/data/cache.hpp"

#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::data {

Cache Cache::open(const fs::path& dir) {
  const fs::path index_path = dir / "index.json";
  if (!fs::exists(index_path)) throw InputError(index_path.string(), "no cache index here");
  nlohmann::json index = nlohmann::json::parse(util::read_file(index_path), nullptr, false);
  if (index.is_discarded()) throw InputError(index_path.string(), "not valid JSON");
  Cache cache;
  cache.dir_ = dir;
  try {
    cache.samples_ = index.at("samples").get<std::int64_t>();
    cache.sampling_rate_ = index.at("sampling_rate").get<double>();
    for (const auto& [statement, count] : index.at("vocabulary").items())
      cache.vocabulary_[statement] = count.get<std::int64_t>();
    for (const auto& r : index.at("records")) {
      CacheEntry e;
      e.id = r.at("id").get<std::string>();
      e.record_id = r.at("record_id").get<std::string>();
      e.patient_id = r.at("patient_id").get<std::string>();
      if (!r.at("age").is_null()) e.age = r.at("age").get<double>();
      e.sex = parse_sex(r.at("sex").get<std::string>());
      e.statements = r.at("statements").get<std::vector<std::string>>();
      if (!r.at("hr").is_null()) e.heart_rate = r.at("hr").get<double>();
      e.split = parse_split(r.at("split").get<std::string>(), index_path.string());
      e.shard = r.at("shard").get<std::int64_t>();
      e.row = r.at("row").get<std::int64_t>();
      e.source = r.at("source").get<std::string>();
      e.start_seconds = r.at("start_seconds").get<double>();
      cache.entries_.push_back(std::move(e));
    }
    for (const auto& [name, list] : index.at("pairs").items()) {
      auto& pairs = cache.pairs_[parse_split(name, index_path.string())];
      for (const auto& p : list) {
        RecordPair pair{p.at(0).get<std::size_t>(), p.at(1).get<std::size_t>()};
        if (pair.reference >= cache.entries_.size() || pair.target >= cache.entries_.size())
          throw InputError(index_path.string(), "pair refers to a row that does not exist");
        pairs.push_back(pair);
      }
    }
    cache.shards_ = std::make_shared<Shards>();
    cache.shards_->data.resize(index.at("shards").get<std::size_t>());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(index_path.string(), std::string("malformed cache index: ") + e.what());
  }
  for (const auto& e : cache.entries_)
    if (e.shard < 0 || e.shard >= static_cast<std::int64_t>(cache.shards_->data.size()))
      throw InputError(index_path.string(),
                       "record " + e.id + " names a shard that does not exist");
  return cache;
}

const std::vector<RecordPair>& Cache::pairs(Split split) const {
  static const std::vector<RecordPair> kNone;
  auto it = pairs_.find(split);
  return it == pairs_.end() ? kNone : it->second;
}

const float* Cache::signal(std::size_t i) const {
  const CacheEntry& e = entries_.at(i);
  std::lock_guard<std::mutex> lock(shards_->mutex);
  auto& shard = shards_->data[static_cast<std::size_t>(e.shard)];
  if (!shard) {
    char name[32];
    std::snprintf(name, sizeof name, "shard_%05lld.npy", static_cast<long long>(e.shard));
    const fs::path path = dir_ / name;
    io::NpyArray array = io::read_npy(path);
    if (array.shape.size() != 3 || array.shape[1] != 12 || array.shape[2] != samples_)
      throw InputError(path.string(), "expected float32 [N, 12, " + std::to_string(samples_) + "]");
    shard = std::make_unique<std::vector<float>>(array.to_float());
  }
  const std::size_t offset = static_cast<std::size_t>(e.row * 12 * samples_);
  if (offset + 12 * samples_ > shard->size())
    throw InputError(e.source, "row " + std::to_string(e.row) + " beyond its shard");
  return shard->data() + offset;
}

}  // namespace ecgtwin::data
