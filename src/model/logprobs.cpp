// Completion log-probabilities. See tenet/model/logprobs.h.
#include "tenet/model/logprobs.h"

#include "head_logprobs.h"

namespace tenet {

torch::Tensor TokenLogProbs(LlamaForCausalLM& model, const torch::Tensor& hidden, const torch::Tensor& targets,
                            int64_t chunk, TokenLogitStats* stats) {
  const torch::Tensor& head = model.lm_head_weight();
  // The CPU kernel takes fp32 or bf16 hidden rows, and a head stored in their dtype or in bf16 under
  // fp32 (tenet/model/matmul.h).
  const bool cpu_dtypes = (hidden.scalar_type() == torch::kFloat32 || hidden.scalar_type() == torch::kBFloat16) &&
                          (head.scalar_type() == hidden.scalar_type() || head.scalar_type() == torch::kBFloat16);
  if (hidden.device().is_cpu() && cpu_dtypes) {
    return head_logprobs::TokenLogProbs(hidden, head, targets.to(torch::kCPU), chunk, stats);
  }
  std::vector<torch::Tensor> parts;
  const int64_t n = hidden.size(0);
  for (int64_t s = 0; s < n; s += chunk) {
    const int64_t len = std::min(chunk, n - s);
    torch::Tensor logits = model.Logits(hidden.narrow(0, s, len)).to(torch::kFloat32);  // (len, V)
    torch::Tensor target = targets.narrow(0, s, len);
    // log p = logit[target] - logsumexp: no (len, V) log-softmax tensor.
    parts.push_back(logits.gather(1, target.unsqueeze(1)).squeeze(1) - logits.logsumexp(-1));
    if (stats != nullptr) {
      torch::NoGradGuard no_grad;
      stats->logit_mean_sum += logits.mean(-1).sum().item<double>();
      if (stats->count_argmax_hits) stats->argmax_hits += logits.argmax(-1).eq(target).sum().item<int64_t>();
    }
  }
  if (parts.empty()) return torch::zeros({0}, torch::TensorOptions().dtype(torch::kFloat32).device(hidden.device()));
  return torch::cat(parts);
}

Result<torch::Tensor> HiddenAt(LlamaForCausalLM& model, const torch::Tensor& input_ids, const torch::Tensor& index,
                               const torch::Tensor& positions, const torch::Tensor& allowed, const AdapterChoice& adapters) {
  if (index.numel() == 0) {  // nothing to score: no forward pass
    return torch::empty({0, model.config().hidden_size}, torch::TensorOptions().dtype(model.dtype()).device(model.device()));
  }
  const int64_t T = input_ids.size(1);
  const int64_t from = torch::remainder(index, T).min().item<int64_t>();
  TENET_ASSIGN_OR_RETURN(torch::Tensor hidden, model.Hidden(input_ids, positions, allowed, nullptr, from, adapters));  // (B, T - from, C)
  // b * T + t  ->  b * (T - from) + (t - from): the row in the flattened suffix.
  const torch::Tensor rows = index - (torch::div(index, T, "floor") + 1) * from;
  return hidden.reshape({-1, hidden.size(-1)}).index_select(0, rows.to(model.device()));
}

Result<std::vector<SequenceScore>> ScoreSequences(LlamaForCausalLM& model, const std::vector<ScoredSequence>& batch,
                                                  const AdapterChoice& adapters) {
  if (batch.empty()) return Status::InvalidArgument("score", "empty batch");
  int64_t T = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& s = batch[i];
    if (s.prompt_len < 1 || s.prompt_len > static_cast<int64_t>(s.ids.size())) {
      return Status::InvalidArgument("sequence " + std::to_string(i), "needs at least one prompt token before the completion");
    }
    if (static_cast<int64_t>(s.ids.size()) > model.config().max_position_embeddings) {
      return Status::InvalidArgument("sequence " + std::to_string(i),
                                     std::to_string(s.ids.size()) + " tokens exceed max_position_embeddings " +
                                         std::to_string(model.config().max_position_embeddings));
    }
    T = std::max<int64_t>(T, static_cast<int64_t>(s.ids.size()));
  }
  const int64_t B = static_cast<int64_t>(batch.size());
  torch::Tensor ids = torch::zeros({B, T}, torch::kInt64);
  std::vector<int64_t> rows, targets;  // flat (b*T + t) positions predicting targets
  auto acc = ids.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = batch[static_cast<size_t>(b)];
    for (size_t t = 0; t < s.ids.size(); ++t) acc[b][static_cast<int64_t>(t)] = s.ids[t];
    for (int64_t t = s.prompt_len; t < static_cast<int64_t>(s.ids.size()); ++t) {
      rows.push_back(b * T + t - 1);
      targets.push_back(s.ids[static_cast<size_t>(t)]);
    }
  }
  torch::NoGradGuard no_grad;
  TENET_ASSIGN_OR_RETURN(torch::Tensor selected, HiddenAt(model, ids, torch::tensor(rows, torch::kInt64), {}, {}, adapters));  // (N, C)
  torch::Tensor logp = TokenLogProbs(model, selected, torch::tensor(targets, torch::kInt64).to(model.device())).to(torch::kCPU);
  std::vector<SequenceScore> out(batch.size());
  auto lp = logp.accessor<float, 1>();
  int64_t k = 0;
  for (size_t b = 0; b < batch.size(); ++b) {
    const int64_t n = static_cast<int64_t>(batch[b].ids.size()) - batch[b].prompt_len;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += lp[k++];
    out[b] = {sum, n};
  }
  return out;
}

}  // namespace tenet
