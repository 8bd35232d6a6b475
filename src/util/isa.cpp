// See tenet/util/isa.h.
#include "tenet/util/isa.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace tenet {
namespace {

struct LibraryVars {
  const char* onednn;    // ONEDNN_MAX_CPU_ISA
  const char* aten;      // ATEN_CPU_CAPABILITY
  const char* openblas;  // OPENBLAS_CORETYPE
};

// What each library calls the same cap.
LibraryVars VarsFor(Isa isa) {
  switch (isa) {
    case Isa::kBaseline: return {"SSE41", "default", "Nehalem"};
    case Isa::kAvx2: return {"AVX2", "avx2", "Haswell"};
    case Isa::kAvx512: return {"AVX512_CORE", "avx512", "SkylakeX"};
    case Isa::kAvx512Bf16: return {"AVX512_CORE_BF16", "avx512", "Cooperlake"};
  }
  return {"ALL", "avx512", ""};
}

constexpr const char* kVarNames[] = {"ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE"};

// Sets the libraries' variables for `isa` where unset. Returns whether anything changed.
bool SetLibraryVars(Isa isa) {
  const LibraryVars v = VarsFor(isa);
  const char* values[] = {v.onednn, v.aten, v.openblas};
  bool changed = false;
  for (size_t i = 0; i < std::size(kVarNames); ++i) {
    if (std::getenv(kVarNames[i]) != nullptr) continue;
    setenv(kVarNames[i], values[i], 1);
    changed = true;
  }
  return changed;
}

// Only a cap below this CPU's own ISA needs anything from the libraries.
std::optional<Isa> EffectiveCap() {
  std::optional<Isa> cap = IsaCap();
  if (!cap || *cap >= CpuIsa()) return std::nullopt;
  return cap;
}

// Runs before main (glibc passes argc, argv, envp to ELF constructors): a process started with
// TENET_ISA but without the libraries' variables sets them and re-executes itself, because
// OpenBLAS has already read its variable by now. If the exec fails, the process goes on with
// Tenet's kernels and oneDNN/ATen capped (they read their variables lazily) and OpenBLAS not.
__attribute__((constructor)) void ApplyIsaCapAtStart(int, char** argv, char**) {
  const std::optional<Isa> cap = EffectiveCap();
  if (!cap || !SetLibraryVars(*cap) || argv == nullptr) return;
  execv("/proc/self/exe", argv);
}

}  // namespace

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kBaseline: return "baseline";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Bf16: return "avx512_bf16";
  }
  return "?";
}

Result<std::optional<Isa>> ParseIsaCap(std::string_view name) {
  if (name.empty() || name == "native") return std::optional<Isa>();
  for (Isa isa : {Isa::kBaseline, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Bf16}) {
    if (name == IsaName(isa)) return std::optional<Isa>(isa);
  }
  return Status::InvalidArgument("ISA \"" + std::string(name) + "\"", "unknown (known: native, avx512_bf16, avx512, avx2, baseline)");
}

Isa CpuIsa() {
  static const Isa isa = [] {
#if defined(__x86_64__)
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    if (avx512 && __builtin_cpu_supports("avx512bf16")) return Isa::kAvx512Bf16;
    if (avx512) return Isa::kAvx512;
    if (avx2) return Isa::kAvx2;
#endif
    return Isa::kBaseline;
  }();
  return isa;
}

std::optional<Isa> IsaCap() {
  static const std::optional<Isa> cap = []() -> std::optional<Isa> {
    const char* env = std::getenv("TENET_ISA");
    if (env == nullptr) return std::nullopt;
    Result<std::optional<Isa>> parsed = ParseIsaCap(env);
    return parsed.ok() ? *parsed : std::nullopt;  // `tenet info` reports a bad value
  }();
  return cap;
}

Isa KernelIsa() {
  static const Isa isa = [] {
    const std::optional<Isa> cap = IsaCap();
    return cap ? std::min(*cap, CpuIsa()) : CpuIsa();
  }();
  return isa;
}

std::string LibraryCapSummary() {
  std::string out;
  for (const char* name : kVarNames) {
    const char* v = std::getenv(name);
    out += std::string(out.empty() ? "" : " ") + name + "=" + (v != nullptr ? v : "(unset)");
  }
  return out;
}

Status ReexecUnderIsaCap(std::string_view name, char** argv) {
  TENET_ASSIGN_OR_RETURN(std::optional<Isa> cap, ParseIsaCap(name));
  const char* current = std::getenv("TENET_ISA");
  const std::string wanted(cap ? IsaName(*cap) : "native");
  bool changed = current == nullptr || wanted != current;
  if (changed) setenv("TENET_ISA", wanted.c_str(), 1);
  if (cap && *cap < CpuIsa()) changed = SetLibraryVars(*cap) || changed;
  if (!changed) return Status::OK();
  execv("/proc/self/exe", argv);
  return Status::Internal(std::string("could not re-execute under --isa ") + wanted + ": " + std::strerror(errno));
}

}  // namespace tenet
