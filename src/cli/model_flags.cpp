// Shared model loading for CLI commands. See tenet/cli/command.h.
#include <algorithm>
#include <iostream>

#include "tenet/cli/command.h"
#include "tenet/model/adapter.h"
#include "tenet/model/packed_gemm.h"
#include "tenet/util/runtime.h"

namespace tenet::cli {

Result<LoadedModel> LoadModelForCli(const std::string& model_dir, const std::string& adapter_dir,
                                    const RuntimeOptions& opts) {
  TENET_RETURN_IF_ERROR(ApplyThreads(opts));
  BlasInfo blas = DetectBlas();
  if (blas.vendor == "reference") {
    std::cerr << "tenet: warning: the reference BLAS (" << blas.library
              << ") is loaded; fp32 math will be very slow. Install libopenblas0-openmp (scripts/setup).\n";
  }
  LoadOptions lo;
  TENET_ASSIGN_OR_RETURN(lo.device, ParseDevice(opts.device));
  if (!opts.dtype.empty()) {
    TENET_ASSIGN_OR_RETURN(torch::ScalarType dt, ParseDtypeName(opts.dtype));
    lo.dtype = dt;
  }
  lo.hardware_policy = true;
  lo.prefer_bf16 = opts.prefer_bf16;
  lo.storage = opts.weights;
  TENET_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModel(model_dir, lo));
  if (!adapter_dir.empty()) {
    TENET_ASSIGN_OR_RETURN(LoraAdapter adapter, LoadPeftAdapter(adapter_dir));
    Status s = AttachAdapter(*loaded.model, adapter);
    if (!s.ok()) return s.WithContext(adapter_dir);
  }
  // Say so only where the policy departed from the checkpoint's dtype (tenet info always reports it).
  const auto& m = *loaded.model;
  if (m.dtype() != loaded.checkpoint_dtype || m.weight_dtype() != loaded.checkpoint_dtype) {
    std::cerr << "tenet: " << DtypeName(m.dtype()) << " compute";
    if (m.weight_dtype() != m.dtype()) std::cerr << ", " << DtypeName(m.weight_dtype()) << " weights";
    std::cerr << " (" << loaded.dtype_reason << ")\n";
  }
  loaded.model->eval();
  return loaded;
}

Status ApplyPackedWeights(const std::string& who, const std::string& mode, bool gradient_checkpointing,
                          const LlamaForCausalLM& model, int copies) {
  const int64_t bytes = copies * model.num_base_parameters() * static_cast<int64_t>(c10::elementSize(model.dtype()));
  std::string why;
  TENET_ASSIGN_OR_RETURN(bool packed, packed_gemm::WantPacked(mode, gradient_checkpointing, bytes, AvailableMemoryBytes(), &why));
  if (!why.empty() && packed_gemm::Built()) std::cerr << who << ": packed weights off: " << why << " (--packed-weights on forces them)\n";
  packed_gemm::SetEnabled(packed);
  return Status::OK();
}

Result<RuntimeOptions> PreferBf16ForGeneration(RuntimeOptions opts) {
  opts.prefer_bf16 = true;
  return opts;
}


}  // namespace tenet::cli
