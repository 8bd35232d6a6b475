// DPO-family losses. See tenet/train/dpo_loss.h for the formulas and their sources.
#include "tenet/train/dpo_loss.h"

#include <cmath>

namespace tenet {

Result<DpoLossType> ParseDpoLossType(std::string_view name) {
  if (name == "sigmoid") return DpoLossType::kSigmoid;
  if (name == "hinge") return DpoLossType::kHinge;
  if (name == "ipo") return DpoLossType::kIpo;
  if (name == "robust") return DpoLossType::kRobust;
  if (name == "simpo") return DpoLossType::kSimpo;
  if (name == "orpo") return DpoLossType::kOrpo;
  return Status::InvalidArgument("--loss", "must be one of sigmoid, hinge, ipo, robust, simpo, orpo; got \"" + std::string(name) + "\"");
}

const char* DpoLossTypeName(DpoLossType type) {
  switch (type) {
    case DpoLossType::kSigmoid: return "sigmoid";
    case DpoLossType::kHinge: return "hinge";
    case DpoLossType::kIpo: return "ipo";
    case DpoLossType::kRobust: return "robust";
    case DpoLossType::kSimpo: return "simpo";
    case DpoLossType::kOrpo: return "orpo";
  }
  return "?";
}

Status ValidateDpoLossOptions(const DpoLossOptions& o) {
  if (!(std::isfinite(o.beta) && o.beta > 0)) return Status::InvalidArgument("beta", "must be finite and > 0");
  if (!(o.label_smoothing >= 0 && o.label_smoothing < 0.5)) {
    return Status::InvalidArgument("label_smoothing", "must be in [0, 0.5)");
  }
  if (o.label_smoothing > 0 && o.type != DpoLossType::kSigmoid && o.type != DpoLossType::kRobust &&
      o.type != DpoLossType::kSimpo) {
    return Status::InvalidArgument("label_smoothing", std::string("applies to the sigmoid, robust and simpo losses, not ") +
                                                          DpoLossTypeName(o.type));
  }
  if (o.type == DpoLossType::kOrpo && o.rpo_alpha > 0) {
    return Status::InvalidArgument("rpo_alpha", "does not combine with orpo, which has its own NLL term");
  }
  if (!std::isfinite(o.simpo_gamma)) return Status::InvalidArgument("simpo_gamma", "must be finite");
  if (!(std::isfinite(o.rpo_alpha) && o.rpo_alpha >= 0)) return Status::InvalidArgument("rpo_alpha", "must be finite and >= 0");
  return Status::OK();
}

torch::Tensor SigmoidDpoLoss(const torch::Tensor& z, double beta, double ls) {
  namespace F = torch::nn::functional;
  return -F::logsigmoid(beta * z) * (1 - ls) - F::logsigmoid(-beta * z) * ls;
}

torch::Tensor RobustDpoLoss(const torch::Tensor& z, double beta, double ls) {
  namespace F = torch::nn::functional;
  return (-F::logsigmoid(beta * z) * (1 - ls) + F::logsigmoid(-beta * z) * ls) / (1 - 2 * ls);
}

torch::Tensor HingeDpoLoss(const torch::Tensor& z, double beta) { return torch::relu(1 - beta * z); }

torch::Tensor IpoLoss(const torch::Tensor& z, double beta) { return (z - 1 / (2 * beta)).pow(2); }

bool NeedsReference(const DpoLossOptions& o) {
  return !o.reference_free && o.type != DpoLossType::kSimpo && o.type != DpoLossType::kOrpo;
}

double NllWeight(const DpoLossOptions& o) { return o.type == DpoLossType::kOrpo ? 1.0 : o.rpo_alpha; }

torch::Tensor SimpoLoss(const torch::Tensor& z, double beta, double gamma, double ls) {
  return SigmoidDpoLoss(z - gamma / beta, beta, ls);
}

torch::Tensor OrpoLoss(const torch::Tensor& c, const torch::Tensor& r, double beta) {
  namespace F = torch::nn::functional;
  // log(1 - e^x) for x < 0, as TRL writes it: log1p(-exp(x)).
  const torch::Tensor log_odds = (c - r) - (torch::log1p(-torch::exp(c)) - torch::log1p(-torch::exp(r)));
  return -beta * F::logsigmoid(log_odds);
}

DpoLossTerms DpoLoss(const PairLogps& policy, const PairLogps& reference, const DpoLossOptions& o) {
  // IPO, SimPO and ORPO compare length-averaged log-probs; the others compare sums.
  const bool average = o.type == DpoLossType::kIpo || o.type == DpoLossType::kSimpo || o.type == DpoLossType::kOrpo;
  auto side = [&](const PairLogps& m, bool chosen) {
    const torch::Tensor& sum = chosen ? m.chosen : m.rejected;
    return average ? sum / (chosen ? m.chosen_tokens : m.rejected_tokens) : sum;
  };
  const torch::Tensor pi_c = side(policy, true), pi_r = side(policy, false);
  torch::Tensor ref_c = torch::zeros_like(pi_c), ref_r = torch::zeros_like(pi_r);
  if (NeedsReference(o)) {
    ref_c = side(reference, true).to(pi_c.scalar_type());
    ref_r = side(reference, false).to(pi_r.scalar_type());
  }
  const torch::Tensor z = (pi_c - pi_r) - (ref_c - ref_r);
  DpoLossTerms t;
  switch (o.type) {
    case DpoLossType::kSigmoid: t.losses = SigmoidDpoLoss(z, o.beta, o.label_smoothing); break;
    case DpoLossType::kRobust: t.losses = RobustDpoLoss(z, o.beta, o.label_smoothing); break;
    case DpoLossType::kHinge: t.losses = HingeDpoLoss(z, o.beta); break;
    case DpoLossType::kIpo: t.losses = IpoLoss(z, o.beta); break;
    case DpoLossType::kSimpo: t.losses = SimpoLoss(z, o.beta, o.simpo_gamma, o.label_smoothing); break;
    case DpoLossType::kOrpo: t.losses = OrpoLoss(pi_c, pi_r, o.beta); break;
  }
  t.chosen_rewards = (o.beta * (pi_c - ref_c)).detach();
  t.rejected_rewards = (o.beta * (pi_r - ref_r)).detach();
  return t;
}

}  // namespace tenet
