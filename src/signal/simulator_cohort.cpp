// Cohorts in the PTB-XL layout and single twins on disk.
#include "ecgtwin/signal/simulator_cohort.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "ecgtwin/io/csv.hpp"
#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/signal/simulator_detail.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::signal {

namespace {

namespace fs = std::filesystem;

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

// Proleptic Gregorian date from a day count since 1970-01-01 (Hinnant's civil_from_days).
std::string date_of(std::int64_t days) {
  days += 719468;
  std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  auto doe = static_cast<unsigned>(days - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02u 09:00:00",
                static_cast<long long>(y + (m <= 2)), m, d);
  return buffer;
}

io::WfdbWriteRequest wfdb_request(const std::string& name, const SimEcg& ecg,
                                  std::vector<std::string> comments) {
  io::WfdbWriteRequest request;
  request.record_name = name;
  request.sampling_frequency = ecg.fs;
  request.format = 16;
  request.names = simulator_leads();
  request.units.assign(12, "mV");
  request.gains.assign(12, 1000.0);  // PTB-XL: 1000 adu/mV, format 16
  request.baselines.assign(12, 0);
  request.comments = std::move(comments);
  request.samples = ecg.samples;
  request.physical = ecg.signal;
  return request;
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

}  // namespace

CohortSummary write_cohort(const fs::path& dir, const CohortOptions& options,
                           util::OutputGuard& guard, const std::function<void()>& on_record) {
  auto start = std::chrono::steady_clock::now();
  auto records = plan_cohort(options);
  guard.create_directory(dir);
  guard.create_directory(dir / cohort_record_folder(options.fs));
  guard.create_directory(dir / "persons");
  std::vector<Person> persons;
  for (std::int64_t p = 0; p < options.patients; ++p) {
    persons.push_back(draw_person(options.seed, p));
    auto file = dir / "persons" / (std::to_string(p + 1) + ".json");
    guard.add_file(file);
    nlohmann::json json = person_to_json(persons.back());
    json["patient_id"] = p + 1;
    util::write_file_atomic(file, json.dump(2) + "\n");
  }

  std::vector<double> rates(records.size());
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::string failure;
  auto worker = [&] {
    for (std::size_t i = next++; i < records.size(); i = next++) {
      try {
        const auto& r = records[i];
        const Person& person = persons[static_cast<std::size_t>(r.patient)];
        SimEcg ecg = render(person, r.condition,
                            {options.fs, options.seconds, options.noise, options.snr_db, r.seed});
        rates[i] = ecg.heart_rate;
        fs::path target = dir / r.path;
        fs::create_directories(target.parent_path());
        io::write_wfdb(target.parent_path(),
                       wfdb_request(target.filename().string(), ecg,
                                    {"age: " + format("%.0f", person.age),
                                     std::string("sex: ") + (person.female ? "female" : "male"),
                                     "patient: " + std::to_string(r.patient + 1),
                                     "condition: " + condition_name(r.condition),
                                     "statements: " + join(condition_statements(r.condition), "|"),
                                     "heart_rate: " + format("%.1f", ecg.heart_rate)}));
        if (on_record) {
          std::lock_guard<std::mutex> lock(mutex);
          on_record();
        }
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex);
        if (failure.empty()) failure = e.what();
        next = records.size();
      }
    }
  };
  int threads = std::max(1, options.threads);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (!failure.empty()) throw Error("writing the cohort: " + failure);

  std::vector<std::string> columns = {"ecg_id",         "patient_id",  "age",        "sex",
                                      "recording_date", "report",      "scp_codes",  "strat_fold",
                                      "filename_lr",    "filename_hr", "statements", "heart_rate",
                                      "condition"};
  std::vector<std::vector<std::string>> rows;
  std::set<std::string> codes_used;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    const Person& person = persons[static_cast<std::size_t>(r.patient)];
    std::string scp = "{";
    for (const auto& code : condition_scp_codes(r.condition)) {
      codes_used.insert(code);
      // PTB-XL grades diagnostic statements (likelihood 100 = certain) and gives form and
      // rhythm statements 0.0.
      scp += (scp.size() > 1 ? ", '" : "'") + code +
             "': " + (scp_statement(code).diagnostic ? "100.0" : "0.0");
    }
    scp += "}";
    auto statements = condition_statements(r.condition);
    rows.push_back({std::to_string(r.ecg_id), std::to_string(r.patient + 1) + ".0",
                    format("%.1f", person.age), person.female ? "1" : "0",
                    date_of(10957 + (r.patient % 1000) + 45 * r.visit),  // from 2000-01-01
                    join(statements, ", "), scp, std::to_string(r.patient % 10 + 1), r.path, r.path,
                    join(statements, "|"), format("%.1f", rates[i]), condition_name(r.condition)});
  }
  guard.add_file(dir / "ptbxl_database.csv");
  io::write_csv(dir / "ptbxl_database.csv", columns, rows);

  std::vector<std::vector<std::string>> scp_rows;
  for (const auto& s : scp_statements()) {
    if (!codes_used.count(s.code)) continue;
    scp_rows.push_back({s.code, s.description, s.diagnostic ? "1.0" : "", s.form ? "1.0" : "",
                        s.rhythm ? "1.0" : "", s.diagnostic_class, s.diagnostic_subclass});
  }
  guard.add_file(dir / "scp_statements.csv");
  io::write_csv(dir / "scp_statements.csv",
                {"", "description", "diagnostic", "form", "rhythm", "diagnostic_class",
                 "diagnostic_subclass"},
                scp_rows);

  CohortSummary summary;
  summary.records = static_cast<std::int64_t>(records.size());
  summary.patients = options.patients;
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json sim = {
      {"generator", "ecgtwin simulate"},
      {"patients", options.patients},
      {"records_per_patient", options.records_per_patient},
      {"conditions", options.conditions.empty() ? condition_names() : options.conditions},
      {"fs", options.fs},
      {"seconds", options.seconds},
      {"seed", options.seed},
      {"noise", options.noise},
      {"snr_db", options.snr_db},
      {"combine_probability", options.combine_probability},
      {"records", summary.records},
      {"strat_fold", "(patient_id - 1) modulo 10, plus 1"},
      {"scheme",
       "visit 0: sinus rhythm at the person's resting rate; later visits: one of "
       "the conditions, drawn uniformly, a single finding joined by a second "
       "with combine_probability; rates drawn per rhythm"}};
  guard.add_file(dir / "simulation.json");
  util::write_file_atomic(dir / "simulation.json", sim.dump(2) + "\n");
  return summary;
}

std::vector<fs::path> write_twin(const fs::path& out, const Person& person,
                                 const SimCondition& condition, const RenderOptions& options,
                                 util::OutputGuard& guard) {
  SimEcg ecg = render(person, condition, options);
  std::vector<fs::path> written;
  fs::path base = out;
  if (base.extension() == ".csv" || base.extension() == ".hea") base.replace_extension();
  if (!base.parent_path().empty()) guard.create_directory(base.parent_path());
  if (out.extension() == ".csv") {
    std::ostringstream text;
    text << join(simulator_leads(), ",") << "\n";
    std::vector<double> rows(static_cast<std::size_t>(12 * ecg.samples));
    for (std::int64_t i = 0; i < ecg.samples; ++i)
      for (int lead = 0; lead < 12; ++lead)
        rows[static_cast<std::size_t>(i * 12 + lead)] = ecg.lead(lead)[i];
    io::write_matrix_csv(text, rows.data(), ecg.samples, 12);
    guard.add_file(out);
    util::write_file_atomic(out, text.str());
    written.push_back(out);
  } else {
    fs::path directory = base.parent_path().empty() ? fs::path(".") : base.parent_path();
    std::string name = base.filename().string();
    guard.add_file(directory / (name + ".hea"));
    guard.add_file(directory / (name + ".dat"));
    written.push_back(io::write_wfdb(
        directory, wfdb_request(name, ecg,
                                {"person: " + person.id, "condition: " + condition_name(condition),
                                 "statements: " + join(condition_statements(condition), "|"),
                                 "heart_rate: " + format("%.1f", ecg.heart_rate)})));
    written.push_back(directory / (name + ".dat"));
  }
  nlohmann::json sidecar = {{"person", person.id},
                            {"person_seed", person.seed},
                            {"person_index", person.index},
                            {"condition", condition_to_json(condition)},
                            {"fs", ecg.fs},
                            {"seconds", options.seconds},
                            {"noise", options.noise},
                            {"snr_db", options.snr_db},
                            {"seed", options.seed},
                            {"heart_rate", ecg.heart_rate},
                            {"target_heart_rate", ecg.target_heart_rate}};
  nlohmann::json beats = nlohmann::json::array();
  for (const auto& b : ecg.beats) beats.push_back({{"sample", b.sample}, {"symbol", b.symbol}});
  sidecar["beats"] = beats;
  fs::path json_path = base;
  json_path += ".json";
  guard.add_file(json_path);
  util::write_file_atomic(json_path, sidecar.dump(2) + "\n");
  written.push_back(json_path);
  return written;
}

}  // namespace ecgtwin::signal
