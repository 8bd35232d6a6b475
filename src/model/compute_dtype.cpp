// See tenet/model/compute_dtype.h.
#include "tenet/model/compute_dtype.h"

#include "tenet/io/model_config.h"
#include "tenet/util/isa.h"

namespace tenet {

DtypeChoice ChooseDtypes(torch::ScalarType checkpoint, const torch::Device& device, std::optional<torch::ScalarType> requested,
                         bool prefer_bf16) {
  DtypeChoice c;
  const std::string ckpt = DtypeName(checkpoint);
  if (requested) {
    c.compute = c.weights = *requested;
    c.reason = "--dtype " + DtypeName(*requested);
    return c;
  }
  const bool native_bf16 = device.is_cuda() || KernelIsa() >= Isa::kAvx512Bf16;
  if (native_bf16) {
    c.compute = c.weights = prefer_bf16 ? torch::kBFloat16 : checkpoint;
    c.reason = std::string(device.is_cuda() ? "CUDA" : "the CPU has native bf16 (AVX512_BF16)") + ": " +
               (prefer_bf16 && checkpoint != torch::kBFloat16 ? "bf16 for generation (checkpoint " + ckpt + ")" : "the checkpoint's " + ckpt);
    return c;
  }
  c.compute = torch::kFloat32;
  c.weights = checkpoint == torch::kBFloat16 ? torch::kBFloat16 : torch::kFloat32;
  const std::string isa = IsaName(KernelIsa());
  if (checkpoint == torch::kFloat32) {
    c.reason = "the checkpoint's float32 (kernels: " + isa + ")";
  } else {
    // The loader says where the bf16 weights end up (tenet/model/loader.h, WeightStorage).
    c.reason = "no native bf16 on this CPU (kernels: " + isa + "): fp32 compute" +
               (c.weights == torch::kBFloat16 ? std::string() : ", weights converted from " + ckpt);
  }
  return c;
}

}  // namespace tenet
