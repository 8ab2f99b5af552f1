// WFDB annotation files in the MIT format (annot(5)): 16-bit words, code in the top 6 bits,
// time difference or pseudo-annotation argument in the low 10.
#include <fstream>

#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::io {

namespace {

// Mnemonics of the annotation codes (WFDB ecgcodes.h / annot strings as rdann prints them).
const char* const kMnemonics[] = {
    "",  "N", "L", "R", "a", "V", "F", "J", "A", "S", "E", "j", "/", "Q", "~", nullptr,
    "|", nullptr, "s", "T", "*", "D", "\"", "=", "p", "B", "^", "t", "+", "u", "?", "!",
    "[", "]", "e", "n", "@", "x", "f", "(", ")", "r"};

constexpr int kSkip = 59, kNum = 60, kSub = 61, kChn = 62, kAux = 63;

std::string mnemonic(int code) {
  if (code >= 0 && code < static_cast<int>(sizeof kMnemonics / sizeof kMnemonics[0]) && kMnemonics[code])
    return kMnemonics[code];
  return "[" + std::to_string(code) + "]";
}

}  // namespace

bool is_beat_annotation(int code) {
  // WFDB's isqrs table (ecgmap.h): NORMAL..UNKNOWN (1-13), BBB 25, LEARN 30, AESC 34,
  // NESC 35, PFUS 38, RONT 41.
  return (code >= 1 && code <= 13) || code == 25 || code == 30 || code == 34 || code == 35 ||
         code == 38 || code == 41;
}

std::vector<WfdbAnnotation> read_wfdb_annotations(const fs::path& file) {
  const std::string bytes = util::read_file(file);
  const auto* d = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  std::vector<WfdbAnnotation> out;
  std::int64_t time = 0;
  int chan = 0, num = 0;
  size_t i = 0;
  auto word_at = [&](size_t k) { return static_cast<unsigned>(d[k] | (d[k + 1] << 8)); };
  while (i + 1 < n) {
    const unsigned word = word_at(i);
    i += 2;
    const int code = static_cast<int>(word >> 10);
    const int arg = static_cast<int>(word & 0x3FF);
    if (code == 0 && arg == 0) break;  // end of file
    switch (code) {
      case kSkip: {
        if (i + 4 > n) throw InputError(file.string(), "truncated SKIP annotation at byte " + std::to_string(i - 2));
        // The interval is a 32-bit value stored as two 16-bit words, high word first.
        const std::uint32_t high = word_at(i), low = word_at(i + 2);
        time += static_cast<std::int32_t>((high << 16) | low);
        i += 4;
        break;
      }
      case kNum:
        num = static_cast<signed char>(arg & 0xFF);  // annot(5): num is a signed char
        if (!out.empty()) out.back().num = num;
        break;
      case kSub:
        if (!out.empty()) out.back().subtype = static_cast<signed char>(arg & 0xFF);
        break;
      case kChn:
        chan = arg & 0xFF;  // annot(5): chan is an unsigned char
        if (!out.empty()) out.back().chan = chan;
        break;
      case kAux: {
        if (i + static_cast<size_t>(arg) > n)
          throw InputError(file.string(), "truncated aux note at byte " + std::to_string(i));
        std::string aux(bytes.data() + i, static_cast<size_t>(arg));
        while (!aux.empty() && aux.back() == '\0') aux.pop_back();
        if (!out.empty()) out.back().aux = aux;
        i += static_cast<size_t>(arg + (arg & 1));
        break;
      }
      default: {
        time += arg;
        WfdbAnnotation a;
        a.sample = time;
        a.code = code;
        a.symbol = mnemonic(code);
        a.chan = chan;
        a.num = num;
        out.push_back(a);
        break;
      }
    }
  }
  return out;
}

}  // namespace ecgtwin::io
