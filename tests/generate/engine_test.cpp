// The generation engine against the independent reference (greedy continuations recomputed from
// scratch, tests/reference/llama_reference.py) and against itself: batched = alone, forks at
// temperature 0 identical, seeds reproducible whatever the batch, stops, continuous batching.
#include "tenet/generate/engine.h"
#include "tenet/generate/service.h"

#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <nlohmann/json.hpp>

#include "tenet/io/peft_adapter.h"
#include "tenet/model/adapter.h"
#include "tenet/model/loader.h"
#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using json = nlohmann::json;
using Ids = std::vector<int32_t>;

std::string Reference() { return testing::ReferenceScript(); }

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string log;
    std::string dir = testing::ReferenceFixtures(&log);
    ASSERT_FALSE(dir.empty()) << log;
    model_dir_ = new std::string(dir + "/untied_llama3_f32");
    auto m = LoadModel(*model_dir_);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = new LoadedModel(std::move(m).value());
  }
  static void TearDownTestSuite() {
    delete model_;
    delete model_dir_;
  }

  // Runs requests; returns completions indexed [request][sample].
  static std::vector<std::vector<Completion>> Run(const std::vector<GenerationRequest>& reqs, int32_t slots) {
    auto engine = Engine::Create(*model_->model, EngineOptions{slots});
    EXPECT_TRUE(engine.ok());
    std::vector<std::vector<Completion>> out(reqs.size());
    for (size_t i = 0; i < reqs.size(); ++i) out[i].resize(static_cast<size_t>(reqs[i].n));
    Status s = (*engine)->Generate(reqs, [&](size_t r, int32_t k, Completion c) { out[r][static_cast<size_t>(k)] = std::move(c); });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  static GenerationRequest Greedy(Ids prompt, int32_t max_new, int32_t n = 1) {
    GenerationRequest r;
    r.prompt = std::move(prompt);
    r.max_new_tokens = max_new;
    r.n = n;
    r.sampling.temperature = 0;
    return r;
  }
  static std::string* model_dir_;
  static LoadedModel* model_;
};
std::string* EngineTest::model_dir_ = nullptr;
LoadedModel* EngineTest::model_ = nullptr;

const std::vector<Ids> kPrompts = {{5, 9, 200}, {1}, {17, 300, 42, 42, 8, 99, 250, 3, 61, 7, 12}};

TEST_F(EngineTest, GreedyMatchesReferenceTokenForToken) {
  constexpr int kNew = 16;
  std::vector<GenerationRequest> reqs;
  for (const auto& p : kPrompts) reqs.push_back(Greedy(p, kNew));
  auto got = Run(reqs, 4);
  std::string scratch = testing::ScratchDir();
  auto r = testing::RunCommand(Reference() + " generate --model " + *model_dir_ + " --prompts '" + json(kPrompts).dump() +
                                   "' --max-new " + std::to_string(kNew) + " --out " + scratch + "/g.json",
                               true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto want = json::parse(*ReadFile(scratch + "/g.json")).get<std::vector<Ids>>();
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    EXPECT_EQ(got[i][0].ids, want[i]) << "prompt " << i;
    EXPECT_EQ(got[i][0].finish, FinishReason::kLength);
  }
}

TEST_F(EngineTest, LongPromptsPrefillInChunksExactly) {
  Ids prompt;
  for (int i = 0; i < 1100; ++i) prompt.push_back((i * 37 + 11) % 320);  // 3 prefill chunks
  auto got = Run({Greedy(prompt, 4)}, 1);
  std::string scratch = testing::ScratchDir();
  ASSERT_TRUE(WriteFileAtomic(scratch + "/p.json", json(std::vector<Ids>{prompt}).dump()).ok());
  auto r = testing::RunCommand(Reference() + " generate --model " + *model_dir_ + " --prompts \"$(cat " + scratch +
                                   "/p.json)\" --max-new 4 --out " + scratch + "/g.json",
                               true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(got[0][0].ids, json::parse(*ReadFile(scratch + "/g.json"))[0].get<Ids>());
}

TEST_F(EngineTest, BatchedDecodeEqualsEachAlone) {
  std::vector<GenerationRequest> reqs;
  for (const auto& p : kPrompts) reqs.push_back(Greedy(p, 10));
  auto together = Run(reqs, 3);
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto alone = Run({reqs[i]}, 1);
    EXPECT_EQ(together[i][0].ids, alone[0][0].ids) << "prompt " << i;
  }
}

TEST_F(EngineTest, ForkedSamplesAtTemperatureZeroAreIdentical) {
  auto out = Run({Greedy(kPrompts[2], 8, 4)}, 4);
  for (int k = 1; k < 4; ++k) EXPECT_EQ(out[0][static_cast<size_t>(k)].ids, out[0][0].ids);
}

TEST_F(EngineTest, SeedsReproduceWhateverTheBatch) {
  GenerationRequest r = Greedy(kPrompts[0], 12, 3);
  r.sampling.temperature = 1.0f;
  r.sampling.top_p = 0.95f;
  r.sampling.seed = 7;
  auto a = Run({r}, 3);
  auto b = Run({Greedy(kPrompts[1], 5, 2), r, Greedy(kPrompts[2], 20)}, 8);  // other company
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(a[0][k].ids, b[1][k].ids) << "sample " << k;
  EXPECT_NE(a[0][0].ids, a[0][1].ids) << "samples use different seeds";
  r.sampling.seed = 8;
  EXPECT_NE(Run({r}, 3)[0][0].ids, a[0][0].ids);
}

TEST_F(EngineTest, StopIdsAndLengthLimits) {
  auto free_run = Run({Greedy(kPrompts[0], 10)}, 1)[0][0].ids;
  ASSERT_EQ(free_run.size(), 10u);
  GenerationRequest r = Greedy(kPrompts[0], 10);
  r.stop_ids = {999999, free_run[3]};
  auto stopped = Run({r}, 1)[0][0];
  // Stops at the first occurrence of the stop id; the stop token itself is not kept.
  size_t first = std::find(free_run.begin(), free_run.end(), free_run[3]) - free_run.begin();
  EXPECT_EQ(stopped.ids, Ids(free_run.begin(), free_run.begin() + static_cast<long>(first)));
  EXPECT_EQ(stopped.finish, FinishReason::kStop);
  auto one = Run({Greedy(kPrompts[0], 1)}, 1)[0][0];
  EXPECT_EQ(one.ids, Ids{free_run[0]});
  EXPECT_EQ(one.finish, FinishReason::kLength);
}

TEST_F(EngineTest, ContinuousBatchingRefillsSlots) {
  std::vector<GenerationRequest> reqs;
  for (int i = 0; i < 6; ++i) reqs.push_back(Greedy(kPrompts[static_cast<size_t>(i) % 3], 3 + 4 * i, 2));
  auto engine = Engine::Create(*model_->model, EngineOptions{4});
  ASSERT_TRUE(engine.ok());
  std::map<std::pair<size_t, int32_t>, Ids> done;
  ASSERT_TRUE((*engine)->Generate(reqs, [&](size_t r, int32_t k, Completion c) { done[{r, k}] = c.ids; }).ok());
  EXPECT_EQ(done.size(), 12u);
  for (size_t i = 0; i < reqs.size(); ++i) {
    const Ids& first = done[std::make_pair(i, 0)];
    EXPECT_EQ(first, Run({reqs[i]}, 2)[0][0].ids) << "request " << i;
    EXPECT_EQ(first.size(), static_cast<size_t>(reqs[i].max_new_tokens));
  }
  EXPECT_GT((*engine)->stats().decode_steps, 0);
}

TEST_F(EngineTest, RejectsBadRequestsBeforeGenerating) {
  auto engine = Engine::Create(*model_->model, EngineOptions{2});
  ASSERT_TRUE(engine.ok());
  int calls = 0;
  auto count = [&](size_t, int32_t, Completion) { ++calls; };
  auto expect = [&](GenerationRequest bad, const std::string& needle) {
    Status s = (*engine)->Generate({Greedy({1, 2}, 3), bad}, count);
    EXPECT_FALSE(s.ok()) << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.ToString();
    EXPECT_EQ(calls, 0) << "nothing generated when a request is invalid";
  };
  expect(Greedy({}, 3), "empty prompt");
  expect(Greedy({1}, 3, 3), "slots = 2");
  expect(Greedy({1}, 0), "max_new_tokens");
  expect(Greedy({1}, 5000), "exceed the model's 4096 positions");
  expect(Greedy({1, 320}, 3), "outside the vocabulary");
  GenerationRequest nan_temp = Greedy({1}, 3);
  nan_temp.sampling.temperature = std::nanf("");
  expect(nan_temp, "temperature");
  EXPECT_FALSE(Engine::Create(*model_->model, EngineOptions{0}).ok());
}

// ------------------------------------------------------------------ GenerationService

// Reads a stream to the end: tokens per sample, and the finish reasons.
struct Drained {
  std::map<int32_t, Ids> tokens;
  std::map<int32_t, FinishReason> finish;
  std::map<int32_t, Ids> finish_ids;
};
Drained Drain(GenerationService::Stream& s, int stop_after_tokens = -1) {
  Drained d;
  GenerationEvent e;
  int seen = 0;
  while (s.Next(&e)) {
    if (e.kind == GenerationEvent::Kind::kToken) {
      d.tokens[e.sample].push_back(e.token);
      if (++seen == stop_after_tokens) s.Cancel();
    } else {
      d.finish[e.sample] = e.finish;
      d.finish_ids[e.sample] = e.ids;
    }
  }
  return d;
}

TEST_F(EngineTest, ServiceStreamsTheSameTokensToConcurrentCallers) {
  auto svc = GenerationService::Start(*model_->model, EngineOptions{6});
  ASSERT_TRUE(svc.ok()) << svc.status().ToString();
  std::vector<GenerationRequest> reqs;
  for (int i = 0; i < 4; ++i) reqs.push_back(Greedy(kPrompts[static_cast<size_t>(i) % 3], 6 + i, 2));
  std::vector<Drained> got(reqs.size());
  std::vector<std::thread> callers;
  for (size_t i = 0; i < reqs.size(); ++i) {
    callers.emplace_back([&, i] {
      auto stream = (*svc)->Submit(reqs[i]);
      ASSERT_TRUE(stream.ok());
      got[i] = Drain(**stream);
    });
  }
  for (auto& t : callers) t.join();
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto want = Run({reqs[i]}, 2)[0];
    for (int32_t k = 0; k < 2; ++k) {
      EXPECT_EQ(got[i].tokens[k], want[static_cast<size_t>(k)].ids) << "request " << i << " sample " << k;
      EXPECT_EQ(got[i].finish_ids[k], want[static_cast<size_t>(k)].ids);
      EXPECT_EQ(got[i].finish[k], FinishReason::kLength);
    }
  }
  // Bad requests are refused on the caller's thread.
  EXPECT_FALSE((*svc)->Submit(Greedy({}, 3)).ok());
}

TEST_F(EngineTest, ServiceCancelsMidStreamAndOnShutdown) {
  auto svc = GenerationService::Start(*model_->model, EngineOptions{4});
  ASSERT_TRUE(svc.ok());
  auto stream = (*svc)->Submit(Greedy(kPrompts[0], 200, 2));
  ASSERT_TRUE(stream.ok());
  Drained d = Drain(**stream, /*stop_after_tokens=*/3);
  EXPECT_EQ(d.finish[0], FinishReason::kCancelled);
  EXPECT_EQ(d.finish[1], FinishReason::kCancelled);
  // The service keeps stepping until it sees the cancel, so how far it gets depends on scheduling
  // (a CI run with 2 tests on 2 cores once saw 20 steps); 400 tokens would mean it never stopped.
  EXPECT_LT(d.tokens[0].size() + d.tokens[1].size(), 200u) << "cancellation stops the stream mid-way";
  // Destroying the service ends open streams as cancelled; Cancel afterwards is harmless.
  auto open = (*svc)->Submit(Greedy(kPrompts[1], 4000));
  ASSERT_TRUE(open.ok());
  GenerationEvent e;
  ASSERT_TRUE((*open)->Next(&e));
  svc->reset();
  Drained rest = Drain(**open);
  EXPECT_EQ(rest.finish[0], FinishReason::kCancelled);
  (*open)->Cancel();
  EXPECT_TRUE((*open)->status().ok());
}


TEST_F(EngineTest, ServiceEndsEveryStreamWithTheEngineErrorAndRefusesLaterRequests) {
  auto svc = GenerationService::Start(*model_->model, EngineOptions{4});
  ASSERT_TRUE(svc.ok());
  // A healthy request that would run long, and one whose callback throws in the worker (as a
  // kernel that runs out of memory would): both streams end with the error, none waits forever.
  auto healthy = (*svc)->Submit(Greedy(kPrompts[0], 3000));
  ASSERT_TRUE(healthy.ok());
  GenerationEvent e;
  ASSERT_TRUE((*healthy)->Next(&e));
  GenerationRequest bad = Greedy(kPrompts[1], 50);
  bad.stop_when = [](const std::vector<int32_t>&) -> bool { throw std::runtime_error("simulated kernel failure"); };
  auto failing = (*svc)->Submit(bad);
  ASSERT_TRUE(failing.ok());
  Drain(**failing);
  Drain(**healthy);
  for (auto* s : {&*failing, &*healthy}) {
    EXPECT_EQ((*s)->status().code(), Status::Code::kInternal);
    EXPECT_NE((*s)->status().message().find("simulated kernel failure"), std::string::npos) << (*s)->status().ToString();
  }
  // The worker is gone: a new request is refused with the error instead of queueing forever.
  auto later = (*svc)->Submit(Greedy(kPrompts[2], 4));
  ASSERT_FALSE(later.ok());
  EXPECT_NE(later.status().message().find("generation service stopped"), std::string::npos) << later.status().ToString();
}


TEST_F(EngineTest, TokenLogprobsMatchTheReferenceLogSoftmax) {
  // Sampled (not greedy) so that the chosen token is not always the most likely one.
  GenerationRequest r = Greedy(kPrompts[2], 8);
  r.sampling.temperature = 1.5f;
  r.sampling.seed = 7;
  r.logprobs = 3;
  auto engine = Engine::Create(*model_->model, EngineOptions{2});
  ASSERT_TRUE(engine.ok());
  ASSERT_TRUE((*engine)->Add(r).ok());
  std::vector<GenerationEvent> tokens;
  while (true) {
    auto more = (*engine)->Step([&](const GenerationEvent& e) {
      if (e.kind == GenerationEvent::Kind::kToken) tokens.push_back(e);
    });
    ASSERT_TRUE(more.ok());
    if (!*more) break;
  }
  ASSERT_EQ(tokens.size(), 8u);
  Ids all = kPrompts[2];
  for (const auto& e : tokens) all.push_back(e.token);
  std::string scratch = testing::ScratchDir();
  ASSERT_TRUE(WriteFileAtomic(scratch + "/d.json", json::array({{{"ids", all}, {"prompt_len", kPrompts[2].size()}}}).dump()).ok());
  auto run = testing::RunCommand(Reference() + " logprobs --model " + *model_dir_ + " --data " + scratch + "/d.json --top 3 --out " +
                                     scratch + "/lp.json",
                                 true);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  const json want = json::parse(*ReadFile(scratch + "/lp.json"))[0];
  bool some_not_top = false;
  for (size_t t = 0; t < tokens.size(); ++t) {
    EXPECT_NEAR(tokens[t].logprob, want["per_token"][t].get<double>(), 2e-4) << "token " << t;
    ASSERT_EQ(tokens[t].top_logprobs.size(), 3u);
    for (size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(tokens[t].top_logprobs[j].token, want["top"][t][j][0].get<int32_t>()) << "token " << t << " rank " << j;
      EXPECT_NEAR(tokens[t].top_logprobs[j].logprob, want["top"][t][j][1].get<double>(), 2e-4);
    }
    some_not_top |= tokens[t].token != tokens[t].top_logprobs[0].token;
  }
  EXPECT_TRUE(some_not_top) << "the test should cover a sampled token that is not the most likely";
}


TEST_F(EngineTest, RequestsForDifferentAdaptersDecodeTogetherAsTheyWouldAlone) {
  const std::string fixtures = model_dir_->substr(0, model_dir_->rfind('/'));
  std::vector<std::shared_ptr<const ServedAdapter>> served;
  for (const char* a : {"adapter", "adapter_rslora"}) {
    auto adapter = LoadPeftAdapter(fixtures + "/" + a);
    ASSERT_TRUE(adapter.ok()) << adapter.status().ToString();
    auto s = MakeServedAdapter(*model_->model, *adapter, a);
    ASSERT_TRUE(s.ok());
    served.push_back(*s);
  }
  std::vector<GenerationRequest> reqs;
  for (int i = 0; i < 4; ++i) {
    GenerationRequest r = Greedy(kPrompts[static_cast<size_t>(i) % 3], 10, i == 3 ? 2 : 1);
    if (i == 0 || i == 3) r.adapter = served[0];
    if (i == 2) r.adapter = served[1];
    reqs.push_back(r);  // request 1: the base
  }
  auto together = Run(reqs, 6);
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto alone = Run({reqs[i]}, 2);
    for (size_t k = 0; k < alone[0].size(); ++k) EXPECT_EQ(together[i][k].ids, alone[0][k].ids) << "request " << i << " sample " << k;
  }
  GenerationRequest base = reqs[0];
  base.adapter = nullptr;
  EXPECT_NE(Run({base}, 1)[0][0].ids, together[0][0].ids) << "the adapter must change the answer";
}


TEST_F(EngineTest, ALongPromptIsPrefilledBetweenDecodeStepsOfOthersWithTheSameResult) {
  // 4-token chunks: the 11-token prompt takes 3 passes. Admitted while another request decodes,
  // it runs one pass per step, so the running request gets a token between its passes.
  EngineOptions o{4};
  o.prefill_chunk = 4;
  auto engine = Engine::Create(*model_->model, o);
  ASSERT_TRUE(engine.ok());
  ASSERT_TRUE((*engine)->Add(Greedy(kPrompts[0], 12)).ok());
  std::vector<std::pair<uint64_t, int32_t>> order;  // (request, token) as reported
  std::map<uint64_t, Ids> got;
  auto sink = [&](const GenerationEvent& e) {
    if (e.kind == GenerationEvent::Kind::kToken) order.emplace_back(e.request, e.token), got[e.request].push_back(e.token);
  };
  ASSERT_TRUE((*engine)->Step(sink).ok());  // request 0 prefilled and decoding
  auto long_id = (*engine)->Add(Greedy(kPrompts[2], 5));
  ASSERT_TRUE(long_id.ok());
  while (true) {
    auto more = (*engine)->Step(sink);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
  }
  // Between the long request's admission and its first token, request 0 got a token per step.
  size_t first_long = 0;
  while (first_long < order.size() && order[first_long].first != *long_id) ++first_long;
  ASSERT_LT(first_long, order.size());
  EXPECT_GE(first_long, 4u) << "1 token at admission + 1 per prefill pass (3) of the long prompt";
  // The chunked, interleaved prefill gives what one pass alone gives.
  EXPECT_EQ(got[*long_id], Run({Greedy(kPrompts[2], 5)}, 1)[0][0].ids);
  EXPECT_EQ(got[0], Run({Greedy(kPrompts[0], 12)}, 1)[0][0].ids);
  // A request cancelled in the middle of its prefill ends as cancelled and frees its slots.
  auto again = (*engine)->Add(Greedy(kPrompts[0], 50));
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE((*engine)->Step(sink).ok());
  auto cancelled = (*engine)->Add(Greedy(kPrompts[2], 5, 3));
  ASSERT_TRUE(cancelled.ok());
  ASSERT_TRUE((*engine)->Step(sink).ok());  // one pass of its prefill
  (*engine)->Cancel(*cancelled);
  std::map<int32_t, FinishReason> finishes;
  auto sink2 = [&](const GenerationEvent& e) {
    if (e.kind == GenerationEvent::Kind::kFinish && e.request == *cancelled) finishes[e.sample] = e.finish;
  };
  ASSERT_TRUE((*engine)->Step(sink2).ok());
  ASSERT_EQ(finishes.size(), 3u);
  for (const auto& [k, f] : finishes) EXPECT_EQ(f, FinishReason::kCancelled);
  EXPECT_EQ((*engine)->load().running, 1);
}


TEST_F(EngineTest, SlotsFreedMidBatchArePackedWithoutChangingAnyOutput) {
  // Samples finishing at different steps (and a sampled one) leave holes that the last decoding
  // slots move into, cache rows and samplers included: every sample still equals its run alone.
  std::vector<GenerationRequest> reqs;
  const int32_t lengths[] = {3, 14, 6, 11, 2, 9};
  for (int i = 0; i < 6; ++i) {
    GenerationRequest r = Greedy(kPrompts[static_cast<size_t>(i) % 3], lengths[i], i == 1 ? 2 : 1);
    if (i == 3) r.sampling.temperature = 1.0f, r.sampling.seed = 11;
    reqs.push_back(r);
  }
  auto together = Run(reqs, 5);
  for (size_t i = 0; i < reqs.size(); ++i) {
    auto alone = Run({reqs[i]}, 2);
    for (size_t k = 0; k < alone[0].size(); ++k) {
      EXPECT_EQ(together[i][k].ids, alone[0][k].ids) << "request " << i << " sample " << k;
      EXPECT_EQ(static_cast<int32_t>(together[i][k].ids.size()), lengths[i]);
    }
  }
}

}  // namespace
}  // namespace tenet
