#pragma once
// WFDB records, written from PhysioNet's header(5) and signal(5) specifications.
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecgtwin::io {

namespace fs = std::filesystem;

// One signal line of a header (header(5), "Signal specification lines").
struct WfdbSignalSpec {
  std::string file_name;
  int format = 16;
  int samples_per_frame = 1;
  int skew = 0;
  std::int64_t byte_offset = 0;
  double adc_gain = 200.0;       // adu per physical unit; 0 in a header means 200
  bool gain_given = false;       // false: the header omitted the gain (physical = digital)
  int baseline = 0;              // defaults to adc_zero when absent
  std::string units = "mV";
  int adc_resolution = 0;        // bits; 0 = format default
  int adc_zero = 0;
  std::optional<int> initial_value;
  std::optional<int> checksum;   // 16-bit, compared modulo 65536
  int block_size = 0;
  std::string description;
};

struct WfdbSegmentSpec {
  std::string record_name;  // "~" is a null segment
  std::int64_t length = 0;
};

struct WfdbHeader {
  std::string record_name;
  int segment_count = 0;  // 0: single-segment record
  int signal_count = 0;
  double sampling_frequency = 250.0;  // frames per second
  std::optional<double> counter_frequency;
  std::optional<double> base_counter;
  std::optional<std::int64_t> sample_count;  // frames; absent: inferred from the file size
  std::string base_time;
  std::string base_date;
  std::vector<WfdbSignalSpec> signals;
  std::vector<WfdbSegmentSpec> segments;
  std::vector<std::string> comments;  // without the leading '#'
};

// Parses header text. `source` (the file name) starts every error message.
WfdbHeader parse_wfdb_header(std::string_view text, const std::string& source);
// Reads and parses RECORD.hea (the path may be given with or without ".hea").
WfdbHeader read_wfdb_header(const fs::path& record);

struct WfdbReadOptions {
  std::int64_t sampfrom = 0;            // first frame, inclusive
  std::optional<std::int64_t> sampto;   // last frame, exclusive; absent: end of record
  std::vector<int> channels;            // empty: all signals in header order
  bool smooth_frames = true;            // false: every sample of multi-sample frames
  bool verify_checksums = true;         // whole-signal reads compare checksums mod 65536
};

// The value used for an invalid sample in `digital` (physical holds NaN there).
inline constexpr std::int32_t kInvalidSample = std::numeric_limits<std::int32_t>::min();

// Samples of a record, row-major [rows x channels].
struct WfdbData {
  WfdbHeader header;                   // the record's own header (layout header if multi-segment)
  std::vector<std::string> names;      // per output channel (description)
  std::vector<std::string> units;
  std::vector<double> gains;           // per output channel (0 in the header -> 200)
  std::vector<int> baselines;
  double frequency = 0;                // rows per second (frame rate x F when expanded)
  std::int64_t rows = 0;
  std::int64_t channels = 0;
  std::vector<std::int32_t> digital;   // kInvalidSample where invalid
  std::vector<double> physical;        // (digital - baseline) / gain; NaN where invalid
  std::vector<std::string> warnings;   // e.g. checksum mismatches when not fatal
  bool checksums_verified = false;     // true when every selected signal's checksum matched
};

// Reads a record (single- or multi-segment). InputError naming the file and the problem for
// malformed headers, missing or short signal files, unsupported formats and checksum
// mismatches (when verify_checksums and the whole signal was read).
WfdbData read_wfdb(const fs::path& record, const WfdbReadOptions& options = {});

// What to write: physical samples [channels x samples] (row-major by channel), converted to
// digital with round((x * gain) + baseline); NaN is written as the format's invalid value.
struct WfdbWriteRequest {
  std::string record_name;
  double sampling_frequency = 500.0;
  int format = 16;                     // 16 or 212 (80, 24 and 32 too where supported)
  std::vector<std::string> names;      // per channel (description field)
  std::vector<std::string> units;      // per channel; default "mV"
  std::vector<double> gains;           // per channel; default 1000 adu/mV
  std::vector<int> baselines;          // per channel; default 0
  std::vector<std::string> comments;   // header comment lines, without '#'
  std::int64_t samples = 0;
  std::vector<float> physical;         // channels x samples
};

// Writes DIR/NAME.hea and DIR/NAME.dat atomically (both or neither). Returns the header path.
fs::path write_wfdb(const fs::path& directory, const WfdbWriteRequest& request);

// WFDB annotation files in the MIT format (.atr, .qrs): one entry per annotation.
struct WfdbAnnotation {
  std::int64_t sample = 0;
  std::string symbol;      // "N", "V", "+", ... (annotation code mnemonic as rdann prints it)
  int code = 0;            // numeric annotation code (ecgcodes.h)
  int subtype = 0;
  int chan = 0;
  int num = 0;
  std::string aux;         // aux note, e.g. "(N" for a rhythm change; trailing NULs removed
};

std::vector<WfdbAnnotation> read_wfdb_annotations(const fs::path& file);
// True for the annotation codes that mark a beat (NORMAL, LBBB, RBBB, ABERR, PVC, ...).
bool is_beat_annotation(int code);

}  // namespace ecgtwin::io
