// File helpers. See tenet/util/file.h.
#include "tenet/util/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tenet {

namespace {
std::string Errno() { return std::strerror(errno); }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(path, "write failed: " + Errno());
    }
    off += static_cast<size_t>(n);
  }
  return Status::OK();
}
}  // namespace

Result<std::string> ReadFile(const std::string& path) {
  if (IsDirectory(path)) return Status::InvalidArgument(path, "is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!FileExists(path)) return Status::NotFound(path, "no such file");
    return Status::IOError(path, "cannot open: " + Errno());
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError(path, "read failed");
  return ss.str();
}

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(path, "cannot create temp file: " + Errno());
  Status s = WriteAll(fd, data, path);
  if (s.ok() && ::fsync(fd) != 0) s = Status::IOError(path, "fsync failed: " + Errno());
  if (::close(fd) != 0 && s.ok()) s = Status::IOError(path, "close failed: " + Errno());
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = Status::IOError(path, "rename failed: " + Errno());
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // Make the rename itself durable.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IOError(path, "cannot create directory: " + ec.message());
  if (!IsDirectory(path)) return Status::IOError(path, "exists and is not a directory");
  return Status::OK();
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string out(dir);
  if (out.back() != '/') out += '/';
  out += name;
  return out;
}

Result<std::shared_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path, "no such file");
    return Status::IOError(path, "cannot open: " + Errno());
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::IOError(path, "stat failed: " + Errno());
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path, "not a regular file");
  }
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return Status::IOError(path, "mmap failed: " + Errno());
    }
    f->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace tenet
