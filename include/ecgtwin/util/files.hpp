#pragma once
// Files written atomically, and output folders that leave nothing half-written behind.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ecgtwin::util {

namespace fs = std::filesystem;

// Writes `bytes` to `path` through a temporary file in the same folder, flushed to disk
// and renamed over `path`: a reader sees the old file or the new one, never a mix.
void write_file_atomic(const fs::path& path, std::string_view bytes);

// Reads a whole file; InputError naming the file when it cannot be opened.
std::string read_file(const fs::path& path);

// A file being written: the content goes to `path.tmp-<pid>`; commit() renames it into
// place. Destroyed without commit(), the temporary file is removed.
class AtomicFile {
 public:
  explicit AtomicFile(fs::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const fs::path& temporary_path() const { return temporary_; }
  const fs::path& path() const { return path_; }
  void write(std::string_view bytes);
  void commit();

 private:
  fs::path path_;
  fs::path temporary_;
  int fd_ = -1;
  bool committed_ = false;
};

// Collects the files and folders a command creates; unless keep() is called, the
// destructor removes them again (so a failed command leaves no partial output).
class OutputGuard {
 public:
  OutputGuard() = default;
  ~OutputGuard();
  OutputGuard(const OutputGuard&) = delete;
  OutputGuard& operator=(const OutputGuard&) = delete;

  // Creates `dir` (and parents) if missing; if this call created it, it is removed on
  // failure.
  void create_directory(const fs::path& dir);
  // Registers a file that is removed on failure.
  void add_file(const fs::path& file);
  void keep() { keep_ = true; }

 private:
  std::vector<fs::path> created_;
  bool keep_ = false;
};

// FNV-1a 64-bit hash of a byte string (checksums of checkpoints and caches).
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed = 0xcbf29ce484222325ULL);
std::string hex64(std::uint64_t value);

}  // namespace ecgtwin::util
