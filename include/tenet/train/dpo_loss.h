// DPO-family preference losses, each a small pure function of per-pair log-probabilities, with the
// exact formulas of TRL's DPOTrainer.dpo_loss so that numbers agree with it.
//
//   logits_i = (pi_c - pi_r) - (ref_c - ref_r)        per pair i (policy / reference log-probs
//                                                      of the chosen and rejected completions)
//   sigmoid  -logsigmoid(b z)(1 - ls) - logsigmoid(-b z) ls        DPO, Rafailov et al. 2023
//            (arXiv 2305.18290); ls > 0 is conservative DPO (cDPO, Mitchell 2023 note)
//   robust   (-logsigmoid(b z)(1 - ls) + logsigmoid(-b z) ls) / (1 - 2 ls)
//            Chowdhury et al. 2024 (arXiv 2403.00409), unbiased under label noise rate ls
//   hinge    relu(1 - b z)                                  SLiC, Zhao et al. 2023 (arXiv 2305.10425)
//   ipo      (z - 1 / (2 b))^2, with log-probs averaged over completion tokens first
//            (Azar et al. 2023, arXiv 2310.12036; TRL averages for IPO only)
//   simpo    -logsigmoid(b (c - r) - gamma)(1 - ls) - logsigmoid(-(b (c - r) - gamma)) ls, with c, r
//            the policy's length-averaged log-probs and no reference model (Meng et al. 2024,
//            arXiv 2405.14734; TRL's CPOTrainer loss_type="simpo")
//   orpo     -b logsigmoid(log_odds), log_odds = (c - r) - (log(1 - e^c) - log(1 - e^r)) on
//            length-averaged log-probs, no reference model, plus the NLL of the chosen tokens
//            (weight 1): Hong et al. 2024 (arXiv 2403.07691), TRL's ORPOTrainer
// rpo_alpha > 0 adds alpha * NLL of the chosen completions (mean over their tokens), RPO (Pang et
// al. 2024, arXiv 2404.19733). reference_free sets the reference log-probs to zero.
// Rewards: beta * (pi - ref) for chosen and rejected (detached), with the same (summed or averaged)
// log-probs the loss used.
//
// Shapes: P pairs; all tensors (P,) fp32 or fp64 on one device.
#pragma once

#include <torch/torch.h>

#include <string>
#include <string_view>

#include "tenet/util/status.h"

namespace tenet {

enum class DpoLossType { kSigmoid, kHinge, kIpo, kRobust, kSimpo, kOrpo };

// "sigmoid" | "hinge" | "ipo" | "robust" | "simpo" | "orpo"; InvalidArgument listing the choices.
Result<DpoLossType> ParseDpoLossType(std::string_view name);
const char* DpoLossTypeName(DpoLossType type);

struct DpoLossOptions {
  DpoLossType type = DpoLossType::kSigmoid;
  double beta = 0.1;
  double label_smoothing = 0.0;  // sigmoid and robust only; [0, 0.5)
  double rpo_alpha = 0.0;        // 0 = off
  bool reference_free = false;
  double simpo_gamma = 0.5;      // SimPO's target margin (TRL's default)
};

// Whether the loss compares against a reference model (not for reference_free, SimPO, ORPO).
bool NeedsReference(const DpoLossOptions& o);
// The weight of the chosen tokens' NLL in the loss: rpo_alpha, or 1 for ORPO.
double NllWeight(const DpoLossOptions& o);

// InvalidArgument naming the option: beta must be finite and > 0, label_smoothing in [0, 0.5) and
// only with sigmoid/robust, rpo_alpha finite and >= 0.
Status ValidateDpoLossOptions(const DpoLossOptions& o);

// The per-pair loss terms from the logits z (P,).
torch::Tensor SigmoidDpoLoss(const torch::Tensor& z, double beta, double label_smoothing);
torch::Tensor RobustDpoLoss(const torch::Tensor& z, double beta, double label_smoothing);
torch::Tensor HingeDpoLoss(const torch::Tensor& z, double beta);
torch::Tensor IpoLoss(const torch::Tensor& z, double beta);
// z = c - r of averaged policy log-probs.
torch::Tensor SimpoLoss(const torch::Tensor& z, double beta, double gamma, double label_smoothing);
// c, r: averaged policy log-probs (< 0).
torch::Tensor OrpoLoss(const torch::Tensor& c, const torch::Tensor& r, double beta);

// Completion log-probs of one model for P pairs: sums over tokens and the token counts.
struct PairLogps {
  torch::Tensor chosen, rejected;                 // (P,) summed log-probs
  torch::Tensor chosen_tokens, rejected_tokens;   // (P,) counts, same dtype
};

struct DpoLossTerms {
  torch::Tensor losses;            // (P,) per-pair terms (rpo not included)
  torch::Tensor chosen_rewards;    // (P,) detached
  torch::Tensor rejected_rewards;  // (P,) detached
};

// The per-pair terms for `policy` against `reference` (reference ignored when reference_free).
// The batch loss is losses.mean() + rpo_alpha * NLL (the caller has the token-level NLL).
DpoLossTerms DpoLoss(const PairLogps& policy, const PairLogps& reference, const DpoLossOptions& o);

}  // namespace tenet
