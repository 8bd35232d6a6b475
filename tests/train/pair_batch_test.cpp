// Prefix sharing (tenet/train/pair_batch.h) is exact: the per-pair log-probs, the DPO loss and the
// LoRA gradients equal those of TRL's plain concatenated batch, on a random model with a random
// non-zero adapter, pairs of different lengths, fp32.
#include <gtest/gtest.h>

#include "tenet/model/adapter.h"
#include "tenet/model/presets.h"
#include "tenet/train/lora.h"
#include "tenet/train/pair_batch.h"

namespace tenet {
namespace {

std::shared_ptr<LlamaForCausalLM> TinyModelWithAdapter() {
  auto config = PresetConfig("tiny", 300);
  EXPECT_TRUE(config.ok());
  auto model = LlamaForCausalLM::Create(*config, RandomWeights(11, 0.2), ModelOptions{});
  EXPECT_TRUE(model.ok());
  LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8;
  lc.target_modules = LoraTargetNames();
  auto adapter = NewLoraAdapter(**model, lc, 3);
  EXPECT_TRUE(adapter.ok());
  // B is zero after init; make it non-zero so the adapter matters and its A gradient is non-zero.
  torch::manual_seed(5);
  for (auto& [_, m] : adapter->modules) m.b = torch::randn_like(m.b) * 0.1;
  EXPECT_TRUE(AttachAdapter(**model, *adapter).ok());
  return *model;
}

std::vector<TokenizedPair> Pairs() {
  return {
      {{5, 17, 42, 8}, {100, 101, 102}, {200, 201, 202, 203, 204}},
      {{9, 3}, {7}, {250, 251}},
      {{1, 2, 3, 4, 5, 6, 7}, {11, 12, 13, 14, 15, 16}, {21}},
  };
}

struct Outcome {
  torch::Tensor chosen, rejected, loss;
  std::vector<torch::Tensor> grads;
};

Outcome RunStep(LlamaForCausalLM& model, const PairBatch& batch) {
  for (auto& p : LoraParameters(model)) p.mutable_grad() = torch::Tensor();
  auto policy = ComputeBatchLogps(model, batch);
  EXPECT_TRUE(policy.ok()) << policy.status().ToString();
  PairLogps ref;
  {
    torch::NoGradGuard no_grad;
    auto r = ComputeBatchLogps(model, batch, AdapterChoice::Base());
    EXPECT_TRUE(r.ok());
    ref = r->logps;
  }
  DpoLossOptions o;
  o.beta = 0.3;
  auto terms = DpoLoss(policy->logps, ref, o);
  torch::Tensor loss = terms.losses.mean() + 0.5 * -policy->chosen_token_logps.mean();  // with an RPO term
  loss.backward();
  Outcome out{policy->logps.chosen.detach(), policy->logps.rejected.detach(), loss.detach(), {}};
  for (auto& p : LoraParameters(model)) out.grads.push_back(p.grad().clone());
  return out;
}

TEST(PairBatchTest, PrefixSharingMatchesTheConcatenatedBatchInLossAndGradients) {
  auto model = TinyModelWithAdapter();
  auto shared = BuildSharedPairBatch(Pairs());
  auto plain = BuildConcatenatedPairBatch(Pairs());
  ASSERT_TRUE(shared.ok() && plain.ok());
  // The shared layout holds each prompt once: 3 rows instead of 6, fewer tokens.
  EXPECT_EQ(shared->ids.size(0), 3);
  EXPECT_EQ(plain->ids.size(0), 6);
  EXPECT_LT(shared->real_tokens, plain->real_tokens);
  EXPECT_EQ(shared->chosen.count.sum().item<float>(), 10.0f);
  EXPECT_EQ(shared->rejected.count.sum().item<float>(), 8.0f);

  Outcome a = RunStep(*model, *shared);
  Outcome b = RunStep(*model, *plain);
  EXPECT_TRUE(torch::allclose(a.chosen, b.chosen, 1e-5, 1e-5)) << a.chosen << b.chosen;
  EXPECT_TRUE(torch::allclose(a.rejected, b.rejected, 1e-5, 1e-5)) << a.rejected << b.rejected;
  EXPECT_NEAR(a.loss.item<double>(), b.loss.item<double>(), 1e-6);
  ASSERT_EQ(a.grads.size(), b.grads.size());
  ASSERT_EQ(a.grads.size(), 2u * 7u * 2u);  // 2 layers x 7 linears x (A, B)
  double largest = 0;
  for (size_t i = 0; i < a.grads.size(); ++i) {
    largest = std::max(largest, b.grads[i].abs().max().item<double>());
    EXPECT_TRUE(torch::allclose(a.grads[i], b.grads[i], 1e-4, 1e-6)) << "parameter " << i;
  }
  EXPECT_GT(largest, 1e-4);  // the gradients are not trivially zero
}

// ComputeBatchLogps asks the model for hidden states only from the first position that predicts a
// completion token (the last layer skips most of the prompt). Log-probs, loss and LoRA gradients
// equal those computed from every position's hidden state.
TEST(PairBatchTest, SkippingPromptPositionsInTheLastLayerIsExact) {
  auto model = TinyModelWithAdapter();
  // Prompts of 9 and 6 tokens: positions 0..4 of every row feed no logit.
  const std::vector<TokenizedPair> pairs = {{{5, 17, 42, 8, 9, 10, 11, 12, 13}, {100, 101, 102}, {200, 201}},
                                            {{9, 3, 4, 5, 6, 7}, {7, 8}, {250, 251, 252, 253}}};
  for (auto build : {BuildSharedPairBatch, BuildConcatenatedPairBatch}) {
    auto batch = build(pairs);
    ASSERT_TRUE(batch.ok());
    Outcome skipped = RunStep(*model, *batch);
    // The same step from all positions' hidden states.
    for (auto& p : LoraParameters(*model)) p.mutable_grad() = torch::Tensor();
    auto hidden = model->Hidden(batch->ids, batch->positions, batch->allowed);
    ASSERT_TRUE(hidden.ok());
    EXPECT_EQ(hidden->size(1), batch->ids.size(1));
    const torch::Tensor flat = hidden->reshape({-1, hidden->size(2)});
    auto sums = [&](const CompletionTokens& c, torch::Tensor* per_token) {
      *per_token = TokenLogProbs(*model, flat.index_select(0, c.index), c.target);
      return torch::zeros({batch->pairs}).index_add(0, c.pair, *per_token);
    };
    torch::Tensor chosen_tokens, rejected_tokens;
    PairLogps policy{sums(batch->chosen, &chosen_tokens), sums(batch->rejected, &rejected_tokens), batch->chosen.count,
                     batch->rejected.count};
    PairLogps ref;
    {
      torch::NoGradGuard no_grad;
      auto r = ComputeBatchLogps(*model, *batch, AdapterChoice::Base());
      ASSERT_TRUE(r.ok());
      ref = r->logps;
    }
    DpoLossOptions o;
    o.beta = 0.3;
    torch::Tensor loss = DpoLoss(policy, ref, o).losses.mean() + 0.5 * -chosen_tokens.mean();
    loss.backward();
    EXPECT_TRUE(torch::allclose(skipped.chosen, policy.chosen.detach(), 1e-5, 1e-5)) << skipped.chosen << policy.chosen;
    EXPECT_TRUE(torch::allclose(skipped.rejected, policy.rejected.detach(), 1e-5, 1e-5));
    EXPECT_NEAR(skipped.loss.item<double>(), loss.item<double>(), 1e-6);
    const auto params = LoraParameters(*model);
    ASSERT_EQ(params.size(), skipped.grads.size());
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(torch::allclose(skipped.grads[i], params[i].grad(), 1e-4, 1e-6)) << "parameter " << i;
    }
  }
}

TEST(PairBatchTest, RejectedTokensCannotSeeTheChosenOnes) {
  auto b = BuildSharedPairBatch({{{1, 2}, {3, 4}, {5, 6}}});
  ASSERT_TRUE(b.ok());
  auto allowed = b->allowed[0];
  // Row 4 (first rejected token): sees the prompt (0, 1) and itself, not the chosen (2, 3).
  EXPECT_TRUE(allowed[4][0].item<bool>() && allowed[4][1].item<bool>() && allowed[4][4].item<bool>());
  EXPECT_FALSE(allowed[4][2].item<bool>() || allowed[4][3].item<bool>());
  EXPECT_EQ(b->positions[0][4].item<int64_t>(), 2);  // positions restart after the prompt
  EXPECT_EQ(b->rejected.index[0].item<int64_t>(), 1);  // predicted from the last prompt token
  EXPECT_FALSE(BuildSharedPairBatch({}).ok());
  EXPECT_FALSE(BuildSharedPairBatch({{{1}, {}, {2}}}).ok());
}

// Gradient checkpointing (LlamaForCausalLM::SetGradientCheckpointing) recomputes each layer in the
// backward pass; with LoRA dropout on, the recomputation must draw the same masks. Loss and every
// LoRA gradient equal the plain run's.
TEST(PairBatchTest, GradientCheckpointingGivesTheSameLossAndGradients) {
  auto config = PresetConfig("tiny", 300);
  auto made = LlamaForCausalLM::Create(*config, RandomWeights(11, 0.2), ModelOptions{});
  ASSERT_TRUE(made.ok());
  auto model = *made;
  LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8;
  lc.lora_dropout = 0.2;
  lc.target_modules = LoraTargetNames();
  auto adapter = NewLoraAdapter(*model, lc, 3);
  ASSERT_TRUE(adapter.ok());
  torch::manual_seed(5);
  for (auto& [_, m] : adapter->modules) m.b = torch::randn_like(m.b) * 0.1;
  ASSERT_TRUE(AttachAdapter(*model, *adapter).ok());
  model->train();
  auto batch = BuildSharedPairBatch(Pairs());
  ASSERT_TRUE(batch.ok());
  std::vector<torch::Tensor> grads[2];
  double loss[2];
  for (int ckpt = 0; ckpt < 2; ++ckpt) {
    model->SetGradientCheckpointing(ckpt == 1);
    for (auto& p : LoraParameters(*model)) p.mutable_grad() = torch::Tensor();
    torch::manual_seed(99);  // the same dropout masks in both runs
    auto policy = ComputeBatchLogps(*model, *batch);
    ASSERT_TRUE(policy.ok());
    torch::Tensor l = -(policy->logps.chosen - policy->logps.rejected).mean();
    l.backward();
    loss[ckpt] = l.item<double>();
    for (auto& p : LoraParameters(*model)) grads[ckpt].push_back(p.grad().clone());
  }
  EXPECT_DOUBLE_EQ(loss[0], loss[1]);
  ASSERT_EQ(grads[0].size(), grads[1].size());
  for (size_t i = 0; i < grads[0].size(); ++i) {
    EXPECT_TRUE(torch::allclose(grads[0][i], grads[1][i], 1e-5, 1e-7)) << "parameter " << i;
  }
  // Checkpointing really happened: without it, a second manual_seed-free run draws new masks and
  // differs, so equality above is not an accident of dropout being off.
  model->SetGradientCheckpointing(false);
  torch::manual_seed(100);
  auto other = ComputeBatchLogps(*model, *batch);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(-(other->logps.chosen - other->logps.rejected).mean().item<double>(), loss[0]);
}

}  // namespace
}  // namespace tenet
