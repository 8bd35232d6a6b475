// Runtime facts. See tenet/util/runtime.h.
#include "tenet/util/runtime.h"

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tenet {

BlasInfo DetectBlas() {
  BlasInfo info;
  info.vendor = "unknown";
  if (const char* env = std::getenv("OPENBLAS_CORETYPE")) info.coretype_env = env;
  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  if (sgemm != nullptr) {
    Dl_info dl;
    if (dladdr(sgemm, &dl) != 0 && dl.dli_fname != nullptr) info.library = dl.dli_fname;
  }
  using ConfigFn = char* (*)();
  auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  auto core = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (config != nullptr) {
    info.vendor = "OpenBLAS";
    info.config = config();
    if (core != nullptr) info.core = core();
  } else if (sgemm != nullptr) {
    // sgemm_ without OpenBLAS's entry points: Netlib's reference BLAS (orders of magnitude slower).
    info.vendor = info.library.find("/blas/") != std::string::npos ? "reference" : "unknown";
  }
  return info;
}

CpuFeatures DetectCpu() {
  CpuFeatures f;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (f.model_name.empty() && line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) f.model_name = line.substr(pos + 2);
    }
    if (line.rfind("flags", 0) == 0) {
      std::istringstream ss(line.substr(line.find(':') + 1));
      for (std::string flag; ss >> flag;) {
        if (flag == "avx2") f.avx2 = true;
        else if (flag == "avx512f") f.avx512f = true;
        else if (flag == "avx512_bf16") f.avx512_bf16 = true;
        else if (flag == "amx_bf16") f.amx_bf16 = true;
      }
      break;
    }
  }
  return f;
}

int64_t AvailableMemoryBytes() {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  int64_t kb = 0;
  while (in >> key >> kb) {
    std::getline(in, unit);  // " kB"
    if (key == "MemAvailable:") return kb * 1024;
  }
  return -1;
}

std::string MallocName() {
  void* fn = dlsym(RTLD_DEFAULT, "malloc");
  Dl_info dl;
  if (fn == nullptr || dladdr(fn, &dl) == 0 || dl.dli_fname == nullptr) return "unknown";
  const std::string file = dl.dli_fname;
  if (file.find("tcmalloc") != std::string::npos) {
    using VersionFn = const char* (*)(int*, int*, const char**);
    auto version = reinterpret_cast<VersionFn>(dlsym(RTLD_DEFAULT, "tc_version"));
    int major = 0, minor = 0;
    const char* patch = nullptr;
    return version != nullptr ? std::string("tcmalloc (") + version(&major, &minor, &patch) + ")" : "tcmalloc";
  }
  if (file.find("libc.so") != std::string::npos) return "glibc";
  return file.substr(file.find_last_of('/') + 1);
}

void TuneAllocator() {
#if defined(__GLIBC__)
  if (MallocName().rfind("tcmalloc", 0) == 0) return;  // glibc's knobs; tcmalloc ignores them anyway
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  mallopt(M_TOP_PAD, 64 * 1024 * 1024);
#endif
}

uint64_t ParseByteSize(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || v <= 0) return 0;
  std::string unit(end);
  double mult = 1;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KB" || unit == "kB") mult = 1e3;
  else if (unit == "MB") mult = 1e6;
  else if (unit == "GB") mult = 1e9;
  else if (unit == "KiB") mult = 1024.0;
  else if (unit == "MiB") mult = 1024.0 * 1024;
  else if (unit == "GiB") mult = 1024.0 * 1024 * 1024;
  else return 0;
  return static_cast<uint64_t>(v * mult);
}

}  // namespace tenet
