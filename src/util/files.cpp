#include "ecgtwin/util/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::util {

namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)) {
  temporary_ = path_;
  temporary_ += ".tmp-" + std::to_string(::getpid());
  if (path_.has_parent_path() && !fs::exists(path_.parent_path())) {
    throw InputError(path_.string(), "folder " + path_.parent_path().string() + " does not exist");
  }
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw InputError(path_.string(), "cannot create file: " + errno_text());
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) {
    std::error_code ignored;
    fs::remove(temporary_, ignored);
  }
}

void AtomicFile::write(std::string_view bytes) {
  const char* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(path_.string() + ": write failed: " + errno_text());
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  if (::fsync(fd_) != 0) throw Error(path_.string() + ": fsync failed: " + errno_text());
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw Error(path_.string() + ": close failed: " + errno_text());
  }
  fd_ = -1;
  std::error_code ec;
  fs::rename(temporary_, path_, ec);
  if (ec) throw Error(path_.string() + ": rename failed: " + ec.message());
  committed_ = true;
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "cannot open file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

OutputGuard::~OutputGuard() {
  if (keep_) return;
  std::error_code ignored;
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) fs::remove_all(*it, ignored);
}

void OutputGuard::create_directory(const fs::path& dir) {
  // Record the outermost folder this call creates, so that removing it removes the rest.
  fs::path first_missing;
  for (fs::path p = fs::absolute(dir); !p.empty() && !fs::exists(p); p = p.parent_path()) {
    first_missing = p;
    if (p == p.parent_path()) break;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir.string(), "cannot create folder: " + ec.message());
  if (!first_missing.empty()) created_.push_back(first_missing);
}

void OutputGuard::add_file(const fs::path& file) { created_.push_back(file); }

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t seed) {
  std::uint64_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string hex64(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

}  // namespace ecgtwin::util
