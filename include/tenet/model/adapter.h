// Attaching a PEFT LoRA adapter to a loaded model (unmerged: the base stays frozen and the
// adapter applies or not per call, AdapterChoice in model/linear.h: how DPO gets its reference model).
#pragma once

#include "tenet/io/peft_adapter.h"
#include "tenet/model/llama.h"
#include "tenet/model/row_lora.h"

namespace tenet {

// Attaches every module of `adapter` to the matching linear layer, with adapter weights stored in
// `adapter_dtype` (fp32 by default, even on a bf16 base). InvalidArgument naming the module if it
// does not exist in the model or its shapes do not fit; nothing is attached on error.
Status AttachAdapter(LlamaForCausalLM& model, const LoraAdapter& adapter,
                     torch::ScalarType adapter_dtype = torch::kFloat32);

// Checks `adapter` against the model (as AttachAdapter) and makes its per-row form.
Result<std::shared_ptr<const ServedAdapter>> MakeServedAdapter(const LlamaForCausalLM& model, const LoraAdapter& adapter,
                                                               std::string name);

}  // namespace tenet
