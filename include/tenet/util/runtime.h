// Facts about the process's numeric runtime: which BLAS library is loaded (OpenBLAS vs the slow
// reference BLAS), its core type, and the CPU's vector extensions. Read-only; thread-safe.
#pragma once

#include <cstdint>
#include <string>

namespace tenet {

struct BlasInfo {
  std::string vendor;    // "OpenBLAS", "reference" or "unknown"
  std::string library;   // path of the shared object providing sgemm_
  std::string config;    // openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell"
  std::string core;      // openblas_get_corename(), e.g. "Haswell", "SkylakeX", "Cooperlake"
  std::string coretype_env;  // $OPENBLAS_CORETYPE ("" if unset): pins OpenBLAS's kernels
};
BlasInfo DetectBlas();

struct CpuFeatures {
  bool avx2 = false, avx512f = false, avx512_bf16 = false, amx_bf16 = false;
  std::string model_name;
};
CpuFeatures DetectCpu();

// Memory the kernel could give this process now without swapping (MemAvailable in
// /proc/meminfo), in bytes; -1 where unknown.
int64_t AvailableMemoryBytes();

// Which malloc the process runs: "tcmalloc (gperftools 2.10)" when gperftools' tcmalloc replaced
// malloc (the default build links it), "glibc", or the file name of the library that defines malloc.
// Read from where the dynamic linker resolved malloc, not from how Tenet was built.
std::string MallocName();

// With glibc's malloc (builds without tcmalloc): keeps large tensor buffers in glibc's heap instead
// of a fresh mmap per allocation. By default glibc serves blocks above a (dynamic) threshold with
// mmap and returns them with munmap, so every multi-megabyte activation of every forward pass is
// page-faulted and zeroed again: measured 30% of a bf16 forward on the bench preset. Raises the
// mmap threshold to 32 MiB (glibc's maximum), keeps up to 1 GiB of freed memory instead of
// trimming it, and pads heap growth by 64 MiB. Call once at startup, before threads allocate.
// No-op under tcmalloc and on non-glibc platforms; safe to call twice.
void TuneAllocator();

// Parses a byte size: "1048576", "512KB", "500MB", "2GB", "1.5GiB" (KB/MB/GB are powers of 1000,
// KiB/MiB/GiB of 1024). Returns 0 for an unparsable or non-positive value.
uint64_t ParseByteSize(const std::string& s);

}  // namespace tenet
