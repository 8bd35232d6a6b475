// File helpers: whole-file reads, atomic writes (temp + fsync + rename), read-only mmap.
//
// Not for: parsing. Every function returns a Status naming the path on failure.
// Thread-safety: free functions are thread-safe; a MappedFile is immutable after Open and may be
// read from many threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tenet/util/status.h"

namespace tenet {

// Reads a whole file. NotFound if absent, IOError otherwise.
Result<std::string> ReadFile(const std::string& path);

// Writes `data` to `path` atomically: writes `path.tmp.<pid>`, fsyncs it, renames it over `path`
// and fsyncs the directory. On failure the old file (if any) is untouched and the temp removed.
Status WriteFileAtomic(const std::string& path, std::string_view data);

// Streams a file into place atomically: bytes go to `path.tmp.<pid>`; Commit() fsyncs and renames
// it over `path`. Destroying an uncommitted writer removes the temp file, so a crash or an error
// never leaves a torn `path`. Not thread-safe.
class AtomicFileWriter {
 public:
  static Result<std::unique_ptr<AtomicFileWriter>> Open(const std::string& path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  Status Append(const void* data, size_t n);
  Status Append(std::string_view data) { return Append(data.data(), data.size()); }
  Status Commit();

 private:
  AtomicFileWriter() = default;
  std::string path_, tmp_;
  int fd_ = -1;
};

bool FileExists(const std::string& path);
bool IsDirectory(const std::string& path);
// Creates `path` and its parents (like mkdir -p). OK if it already exists as a directory.
Status MakeDirs(const std::string& path);
// "a/b" + "c" -> "a/b/c"; keeps a single separator.
std::string JoinPath(std::string_view dir, std::string_view name);

// A private (copy-on-write) memory map of a whole file. Pages are shared with the page cache until
// written; writes never reach the file. Owns the mapping; unmapped on destruction.
class MappedFile {
 public:
  // Maps `path` read-only. NotFound if absent; IOError if it cannot be mapped.
  static Result<std::shared_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  // Writable view of the private mapping (copy-on-write; the file is never modified).
  uint8_t* mutable_data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace tenet
