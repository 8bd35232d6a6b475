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
  TENET_ASSIGN_OR_RETURN(auto w, AtomicFileWriter::Open(path));
  TENET_RETURN_IF_ERROR(w->Append(data));
  return w->Commit();
}

Result<std::unique_ptr<AtomicFileWriter>> AtomicFileWriter::Open(const std::string& path) {
  std::unique_ptr<AtomicFileWriter> w(new AtomicFileWriter());
  w->path_ = path;
  w->tmp_ = path + ".tmp." + std::to_string(::getpid());
  w->fd_ = ::open(w->tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w->fd_ < 0) return Status::IOError(path, "cannot create temp file: " + Errno());
  return w;
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

Status AtomicFileWriter::Append(const void* data, size_t n) {
  if (fd_ < 0) return Status::Internal(path_, "append after commit");
  return WriteAll(fd_, std::string_view(static_cast<const char*>(data), n), path_);
}

Status AtomicFileWriter::Commit() {
  if (fd_ < 0) return Status::Internal(path_, "commit twice");
  Status s;
  if (::fsync(fd_) != 0) s = Status::IOError(path_, "fsync failed: " + Errno());
  if (::close(fd_) != 0 && s.ok()) s = Status::IOError(path_, "close failed: " + Errno());
  fd_ = -1;
  if (s.ok() && ::rename(tmp_.c_str(), path_.c_str()) != 0) s = Status::IOError(path_, "rename failed: " + Errno());
  if (!s.ok()) {
    ::unlink(tmp_.c_str());
    return s;
  }
  // Make the rename itself durable.
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  if (dir.empty()) dir = std::filesystem::path(".");
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
    // PROT_WRITE + MAP_PRIVATE: copy-on-write, so an in-place op on a zero-copy tensor cannot
    // fault or modify the checkpoint.
    void* p = ::mmap(nullptr, f->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return Status::IOError(path, "mmap failed: " + Errno());
    }
    f->data_ = static_cast<uint8_t*>(p);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace tenet
