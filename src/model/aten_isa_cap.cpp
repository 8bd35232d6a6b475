// Makes ATen take the paths it would take on the CPU that a TENET_ISA cap emulates
// (tenet/util/isa.h), in every process that links the model library (CMakeLists.txt forces this
// object in through its anchor symbol).
//
// LibTorch 1.13 sends bf16 matrix products to oneDNN whenever cpuinfo reports AVX-512 BW/VL/DQ,
// whatever ONEDNN_MAX_CPU_ISA says; capped at AVX2, oneDNN then has no bf16 matmul and throws
// ("could not create a primitive descriptor iterator"). On a real AVX2 machine ATen's check fails
// and the product runs in ATen's own kernels, so under a cap below AVX-512 ATen's use of oneDNN is
// switched off (torch.backends.mkldnn.enabled = False), which leads to those same kernels.
#include <ATen/Context.h>

#include "tenet/util/isa.h"

extern "C" {
// Referenced by the linker flag -Wl,--undefined=tenet_aten_isa_cap_anchor (see CMakeLists.txt).
extern const int tenet_aten_isa_cap_anchor;
const int tenet_aten_isa_cap_anchor = 1;
}

namespace tenet {
namespace {

const bool kAtenCapped = [] {
  const bool capped = KernelIsa() < Isa::kAvx512 && CpuIsa() >= Isa::kAvx512;
  if (capped) at::globalContext().setUserEnabledMkldnn(false);
  return capped;
}();

}  // namespace
}  // namespace tenet
