// The instruction sets Tenet's hand-written kernels use, and the one switch that caps them.
//
// Every kernel with vector code has an AVX-512, an AVX2+FMA and a portable version; which one runs
// is picked at run time by KernelIsa(): the CPU's best, or lower when capped. The cap exists so an
// AVX-512 machine can measure and test what an AVX2-only machine (most laptops, Zen 2/3, many
// cloud VMs and CI runners) runs: `TENET_ISA=avx2` in the environment, or `--isa avx2` on the
// `tenet` command line and the benchmarks, caps Tenet's kernels and the libraries under them, which
// read their own variables: oneDNN (ONEDNN_MAX_CPU_ISA), ATen (ATEN_CPU_CAPABILITY) and OpenBLAS
// (OPENBLAS_CORETYPE). OpenBLAS reads its variable when it is loaded, before any code of ours runs,
// so a process whose environment lacks one of them sets them and re-executes itself once (at start,
// before main; see isa.cpp). Variables the user set explicitly are kept.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tenet/util/status.h"

namespace tenet {

enum class Isa : int {
  kBaseline = 0,  // x86-64 SSE2 (or another architecture): the portable loops
  kAvx2 = 1,      // AVX2 + FMA + F16C (Haswell, Zen 1-3)
  kAvx512 = 2,    // AVX-512 F/BW/DQ/VL (Skylake-X, Ice Lake, Zen 4)
  kAvx512Bf16 = 3 // ... and AVX512_BF16 (Cooper Lake, Sapphire Rapids, Zen 4): native bf16 dot products
};

// "baseline", "avx2", "avx512", "avx512_bf16".
const char* IsaName(Isa isa);
// Accepts the names above and "native" (no cap). InvalidArgument otherwise.
Result<std::optional<Isa>> ParseIsaCap(std::string_view name);

// The best ISA this CPU runs (from CPUID, through GCC's __builtin_cpu_supports).
Isa CpuIsa();
// The cap from $TENET_ISA (read once per process), or nullopt.
std::optional<Isa> IsaCap();
// What Tenet's kernels run: min(CpuIsa(), IsaCap()). Read once; cheap to call per row.
Isa KernelIsa();

// The environment variables through which oneDNN, ATen and OpenBLAS are capped at `isa`, as
// name=value pairs ("" value: leave unset). For `tenet info` and the docs.
std::string LibraryCapSummary();

// For `--isa NAME`: when the process does not already run under that cap, sets TENET_ISA and the
// libraries' variables and re-executes /proc/self/exe with `argv` (does not return on success).
// Returns OK when the environment already matches (the second run), InvalidArgument on a bad name.
Status ReexecUnderIsaCap(std::string_view name, char** argv);

}  // namespace tenet
