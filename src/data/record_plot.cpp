// A Record as input to the 12-lead plot (io does not know the Record type).
#include <cmath>
#include <cstdio>

#include "ecgtwin/data/record_io.hpp"

namespace ecgtwin::data {

io::PlotInput plot_input(const Record& record, const std::string& label) {
  io::PlotInput input;
  input.lead_names = record.lead_names;
  input.signal = record.signal;
  input.sampling_rate = record.sampling_rate;
  input.label = label;
  std::vector<std::string> parts;
  if (!record.id.empty()) parts.push_back(record.id);
  if (!record.patient_id.empty()) parts.push_back("patient " + record.patient_id);
  std::string person;
  if (record.sex != Sex::kUnknown) person = to_string(record.sex);
  if (record.age) person += (person.empty() ? "" : ", ") + std::to_string(std::lround(*record.age)) + " y";
  if (!person.empty()) parts.push_back(person);
  if (record.heart_rate) parts.push_back("HR " + std::to_string(std::lround(*record.heart_rate)) + " bpm");
  std::string statements;
  for (const auto& s : record.statements) statements += (statements.empty() ? "" : "; ") + s;
  if (!statements.empty()) parts.push_back(statements);
  for (const auto& part : parts) input.title += (input.title.empty() ? "" : "  |  ") + part;
  return input;
}

}  // namespace ecgtwin::data
