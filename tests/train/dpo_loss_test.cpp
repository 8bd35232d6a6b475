// The DPO-family loss terms against values derived by hand (tenet/train/dpo_loss.h). Every case
// uses logits z and beta whose products are simple: logsigmoid(x) = -log(1 + e^-x).
#include <gtest/gtest.h>

#include <cmath>

#include "tenet/train/dpo_loss.h"

namespace tenet {
namespace {

double LogSigmoid(double x) { return -std::log1p(std::exp(-x)); }

torch::Tensor T(std::vector<double> v) { return torch::tensor(v, torch::kFloat64); }

TEST(DpoLossTest, SigmoidIsMinusLogSigmoidOfBetaTimesLogits) {
  // beta 0.5, z = {2, 0, -4}: -logsigmoid({1, 0, -2}).
  auto l = SigmoidDpoLoss(T({2, 0, -4}), 0.5, 0.0);
  EXPECT_NEAR(l[0].item<double>(), -LogSigmoid(1), 1e-12);
  EXPECT_NEAR(l[1].item<double>(), std::log(2.0), 1e-12);
  EXPECT_NEAR(l[2].item<double>(), -LogSigmoid(-2), 1e-12);
}

TEST(DpoLossTest, LabelSmoothingMixesBothDirections) {
  // cDPO with ls 0.25 at beta z = 1: 0.75 * -logsigmoid(1) + 0.25 * -logsigmoid(-1).
  auto l = SigmoidDpoLoss(T({2}), 0.5, 0.25);
  EXPECT_NEAR(l[0].item<double>(), 0.75 * -LogSigmoid(1) + 0.25 * -LogSigmoid(-1), 1e-12);
  // Robust: (0.75 * -logsigmoid(1) + 0.25 * logsigmoid(-1)) / (1 - 0.5).
  auto r = RobustDpoLoss(T({2}), 0.5, 0.25);
  EXPECT_NEAR(r[0].item<double>(), (0.75 * -LogSigmoid(1) + 0.25 * LogSigmoid(-1)) / 0.5, 1e-12);
  // With ls 0 robust is plain sigmoid.
  EXPECT_NEAR(RobustDpoLoss(T({2}), 0.5, 0.0)[0].item<double>(), -LogSigmoid(1), 1e-12);
}

TEST(DpoLossTest, HingeAndIpo) {
  // hinge: relu(1 - 0.5 z) for z = {4, 1, -2} -> {0, 0.5, 2}.
  auto h = HingeDpoLoss(T({4, 1, -2}), 0.5);
  EXPECT_DOUBLE_EQ(h[0].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(h[1].item<double>(), 0.5);
  EXPECT_DOUBLE_EQ(h[2].item<double>(), 2.0);
  // ipo: (z - 1/(2 beta))^2 with beta 0.25 -> target 2: z = {2, 5, -1} -> {0, 9, 9}.
  auto i = IpoLoss(T({2, 5, -1}), 0.25);
  EXPECT_DOUBLE_EQ(i[0].item<double>(), 0.0);
  EXPECT_DOUBLE_EQ(i[1].item<double>(), 9.0);
  EXPECT_DOUBLE_EQ(i[2].item<double>(), 9.0);
}

PairLogps Logps(std::vector<double> c, std::vector<double> r, std::vector<double> nc, std::vector<double> nr) {
  return {T(c), T(r), T(nc), T(nr)};
}

TEST(DpoLossTest, LogitsRewardsAndReferenceFree) {
  // Pair 0: policy (-10, -14), reference (-11, -12): z = -4 - (1) ... computed below.
  PairLogps policy = Logps({-10, -20}, {-14, -18}, {2, 4}, {4, 2});
  PairLogps ref = Logps({-11, -20}, {-12, -19}, {2, 4}, {4, 2});
  DpoLossOptions o;
  o.beta = 0.5;
  auto t = DpoLoss(policy, ref, o);
  // z0 = (-10 - -14) - (-11 - -12) = 4 - 1 = 3; z1 = (-20 - -18) - (-20 - -19) = -2 + 1 = -1.
  EXPECT_NEAR(t.losses[0].item<double>(), -LogSigmoid(1.5), 1e-12);
  EXPECT_NEAR(t.losses[1].item<double>(), -LogSigmoid(-0.5), 1e-12);
  // Rewards: beta (pi - ref): chosen {0.5, 0}, rejected {-1, 0.5}.
  EXPECT_NEAR(t.chosen_rewards[0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(t.chosen_rewards[1].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(t.rejected_rewards[0].item<double>(), -1.0, 1e-12);
  EXPECT_NEAR(t.rejected_rewards[1].item<double>(), 0.5, 1e-12);
  // Reference-free: z0 = 4, z1 = -2; rewards are beta * pi.
  o.reference_free = true;
  t = DpoLoss(policy, ref, o);
  EXPECT_NEAR(t.losses[0].item<double>(), -LogSigmoid(2), 1e-12);
  EXPECT_NEAR(t.losses[1].item<double>(), -LogSigmoid(-1), 1e-12);
  EXPECT_NEAR(t.chosen_rewards[0].item<double>(), -5.0, 1e-12);
}

TEST(DpoLossTest, IpoAveragesLogProbsOverTokens) {
  // Averages: policy c {-5, -5}, r {-3.5, -9}; ref c {-5.5, -5}, r {-3, -9.5}.
  // z0 = (-5 - -3.5) - (-5.5 - -3) = -1.5 + 2.5 = 1; z1 = (-5 - -9) - (-5 - -9.5) = 4 - 4.5 = -0.5.
  PairLogps policy = Logps({-10, -20}, {-14, -18}, {2, 4}, {4, 2});
  PairLogps ref = Logps({-11, -20}, {-12, -19}, {2, 4}, {4, 2});
  DpoLossOptions o;
  o.type = DpoLossType::kIpo;
  o.beta = 0.5;  // target 1
  auto t = DpoLoss(policy, ref, o);
  EXPECT_NEAR(t.losses[0].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(t.losses[1].item<double>(), 2.25, 1e-12);
  EXPECT_NEAR(t.chosen_rewards[0].item<double>(), 0.25, 1e-12);  // 0.5 * (-5 - -5.5)
}

TEST(DpoLossTest, GradientOfSigmoidLossIsMinusBetaTimesSigmoidOfMinusBetaZ) {
  // d/dz -logsigmoid(b z) = -b * sigmoid(-b z); at b = 0.5, z = 2: -0.5 / (1 + e).
  auto z = T({2}).requires_grad_(true);
  SigmoidDpoLoss(z, 0.5, 0.0).sum().backward();
  EXPECT_NEAR(z.grad()[0].item<double>(), -0.5 / (1 + std::exp(1.0)), 1e-12);
}

TEST(DpoLossTest, OptionsAreValidated) {
  DpoLossOptions o;
  EXPECT_TRUE(ValidateDpoLossOptions(o).ok());
  o.beta = 0;
  EXPECT_FALSE(ValidateDpoLossOptions(o).ok());
  o.beta = 0.1;
  o.label_smoothing = 0.5;
  EXPECT_FALSE(ValidateDpoLossOptions(o).ok());
  o.label_smoothing = 0.1;
  o.type = DpoLossType::kHinge;
  auto s = ValidateDpoLossOptions(o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("label_smoothing"), std::string::npos);
  o.label_smoothing = 0;
  o.rpo_alpha = -1;
  EXPECT_FALSE(ValidateDpoLossOptions(o).ok());
  EXPECT_TRUE(ParseDpoLossType("robust").ok());
  EXPECT_FALSE(ParseDpoLossType("simpo2").ok());
}

TEST(DpoLossTest, SimpoUsesAveragedPolicyLogProbsAndAMargin) {
  // Averages: c {-5, -5}, r {-3.5, -9}: z = {-1.5, 4}. beta 2, gamma 1: -logsigmoid(2 z - 1).
  PairLogps policy = Logps({-10, -20}, {-14, -18}, {2, 4}, {4, 2});
  PairLogps ref = Logps({0, 0}, {0, 0}, {2, 4}, {4, 2});  // ignored
  DpoLossOptions o;
  o.type = DpoLossType::kSimpo;
  o.beta = 2;
  o.simpo_gamma = 1;
  EXPECT_FALSE(NeedsReference(o));
  auto t = DpoLoss(policy, ref, o);
  EXPECT_NEAR(t.losses[0].item<double>(), -LogSigmoid(-4), 1e-12);
  EXPECT_NEAR(t.losses[1].item<double>(), -LogSigmoid(7), 1e-12);
  EXPECT_NEAR(t.chosen_rewards[0].item<double>(), -10.0, 1e-12);  // beta * averaged policy log-prob
}

TEST(DpoLossTest, OrpoIsMinusBetaLogSigmoidOfTheLogOddsRatio) {
  // Averages c = log 0.5, r = log 0.25: odds 1 and 1/3, log odds ratio = log 3.
  PairLogps policy = Logps({2 * std::log(0.5)}, {3 * std::log(0.25)}, {2}, {3});
  DpoLossOptions o;
  o.type = DpoLossType::kOrpo;
  o.beta = 0.1;
  EXPECT_EQ(NllWeight(o), 1.0);
  auto t = DpoLoss(policy, policy, o);
  EXPECT_NEAR(t.losses[0].item<double>(), -0.1 * LogSigmoid(std::log(3.0)), 1e-12);  // = 0.1 * log(4/3)
  EXPECT_NEAR(t.losses[0].item<double>(), 0.1 * std::log(4.0 / 3.0), 1e-12);
  o.rpo_alpha = 0.5;
  EXPECT_FALSE(ValidateDpoLossOptions(o).ok());
}

}  // namespace
}  // namespace tenet
