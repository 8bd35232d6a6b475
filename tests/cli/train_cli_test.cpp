// `tenet train dpo`, `tenet train sft`, `tenet eval dpo` and `tenet merge` end to end on the tiny CLI model (Meta's
// Llama 3 tokenizer): learning on a held-out split, merge equivalence, bit-for-bit resume after
// kill -9, full fine-tuning, a diverging run, and hostile data and flags.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::ShellQuote;

std::string Tenet(const std::string& args) { return testing::TenetCommand(args); }
std::vector<json> Lines(const std::string& path) { return testing::ParseJsonLines(*ReadFile(path)); }
json ReadJson(const std::string& path) { return json::parse(*ReadFile(path)); }

// A preference set where the chosen answers are consistently polite and the rejected ones rude,
// with varied wording, so a held-out prompt can only be ranked right by learning the pattern.
void WritePreferences(const std::string& path, int n) {
  const char* topics[] = {"my card", "a loan", "the fees", "interest rates", "my PIN", "a transfer", "overdrafts", "savings"};
  const char* polite[] = {"Certainly, I am glad to help you with", "Of course! Here is how we can sort out",
                          "Thank you for asking. Let me explain", "Happy to help: this is what to know about"};
  const char* rude[] = {"Not my problem, figure out", "Stop asking me about", "Whatever. Nobody cares about",
                        "Go away, I will not discuss"};
  std::ofstream f(path);
  for (int i = 0; i < n; ++i) {
    const std::string topic = topics[i % 8];
    json r = {{"prompt", json::array({{{"role", "user"}, {"content", "Question " + std::to_string(i) + ": can you help with " + topic + "?"}}})},
              {"chosen", json::array({{{"role", "assistant"}, {"content", std::string(polite[(i / 8) % 4]) + " " + topic + "."}}})},
              {"rejected", json::array({{{"role", "assistant"}, {"content", std::string(rude[(i / 3) % 4]) + " " + topic + "."}}})}};
    f << r.dump() << "\n";
  }
}

// Runs `command` in the background and kill -9s it once `marker` exists. False if it never appeared.
bool KillWhenExists(const std::string& command, const std::string& marker) {
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + command + " 2>/dev/null >/dev/null").c_str(), nullptr);
    _exit(127);
  }
  for (int i = 0; i < 6000 && !IsDirectory(marker); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  return IsDirectory(marker);
}

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string log;
    model_ = new std::string(testing::CliTinyModel(&log));
    ASSERT_FALSE(model_->empty()) << log;
  }
  static void TearDownTestSuite() { delete model_; }
  void SetUp() override {
    dir_ = testing::ScratchDir();
    WritePreferences(dir_ + "/prefs.jsonl", 80);
  }
  std::string Train(const std::string& out, const std::string& extra, const std::string& data = "") {
    return Tenet("train dpo --model " + *model_ + " --data " + (data.empty() ? dir_ + "/prefs.jsonl" : data) + " --out " + out +
                 " --dtype float32 --threads 2 " + extra);
  }
  // Starts `tenet train <kind_and_flags> --model M --out dir/<second>`, kill -9s it after its step-10
  // checkpoint, resumes it, and expects the artifact and metrics of the finished run dir/<first>.
  void ExpectKilledRunResumesLike(const std::string& kind_and_flags, const std::string& first, const std::string& second,
                                  const std::string& artifact) {
    const std::string kind = kind_and_flags.substr(0, kind_and_flags.find(' '));
    ASSERT_TRUE(KillWhenExists(Tenet("train " + kind_and_flags + " --model " + *model_ + " --out " + dir_ + "/" + second),
                               dir_ + "/" + second + "/checkpoints/step-00000010"));
    ASSERT_FALSE(FileExists(dir_ + "/" + second + "/" + artifact)) << "finished before the kill";
    auto resumed = RunCommand(Tenet("train " + kind + " --resume " + dir_ + "/" + second + " --threads 2"), true);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
    EXPECT_EQ(*ReadFile(dir_ + "/" + first + "/" + artifact), *ReadFile(dir_ + "/" + second + "/" + artifact));
    EXPECT_EQ(*ReadFile(dir_ + "/" + first + "/metrics.jsonl"), *ReadFile(dir_ + "/" + second + "/metrics.jsonl"));
  }
  static std::string* model_;
  std::string dir_;
};
std::string* TrainCli::model_ = nullptr;

TEST_F(TrainCli, DpoLearnsTheHeldOutPreferenceAndTheMergedModelScoresLikeTheAdapter) {
  const std::string run = dir_ + "/run";
  auto r = RunCommand(Train(run, "--test-fraction 0.2 --split-seed 1 --max-steps 200 --batch-pairs 2 --lr 2e-3 "
                                 "--lora-r 8 --lora-alpha 16 --beta 0.1 --eval-every 50 --warmup-ratio 0.05"),
                      true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* f : {"config.json", "metrics.jsonl", "summary.json", "data_report.json", "adapter/adapter_config.json",
                        "adapter/adapter_model.safetensors"}) {
    EXPECT_TRUE(FileExists(run + "/" + f)) << f;
  }
  std::vector<json> evals, steps;
  for (const auto& l : Lines(run + "/metrics.jsonl")) (l.contains("eval_loss") ? evals : steps).push_back(l);
  ASSERT_EQ(steps.size(), 200u);
  ASSERT_EQ(evals.size(), 4u);
  for (const char* k : {"loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen",
                        "logps/rejected", "logits/chosen", "logits/rejected", "learning_rate", "grad_norm", "epoch"}) {
    EXPECT_TRUE(steps.back().contains(k)) << k;
  }
  EXPECT_NEAR(steps.front()["loss"].get<double>(), std::log(2.0), 1e-4);  // B = 0: policy == reference
  EXPECT_EQ(steps.front()["learning_rate"].get<double>(), 0.0);        // HF warmup starts at 0
  // Held out: accuracy reaches 0.9 and the margin grows evaluation after evaluation.
  EXPECT_GE(evals.back()["eval_rewards/accuracies"].get<double>(), 0.9);
  for (size_t i = 1; i < evals.size(); ++i) {
    EXPECT_GT(evals[i]["eval_rewards/margins"].get<double>(), evals[i - 1]["eval_rewards/margins"].get<double>()) << i;
  }
  json summary = ReadJson(run + "/summary.json");
  EXPECT_EQ(summary["test_examples"].get<int>(), 16);
  EXPECT_EQ(summary["train_examples"].get<int>(), 64);

  // tenet eval dpo on the held-out records agrees with the run's last evaluation... (same adapter).
  auto e = RunCommand(Tenet("eval dpo --model " + *model_ + " --adapter " + run + "/adapter --data " + dir_ +
                            "/prefs.jsonl --dtype float32 --beta 0.1"));
  ASSERT_EQ(e.exit_code, 0) << e.out;
  json ev = json::parse(e.out);
  EXPECT_GE(ev["eval_rewards/accuracies"].get<double>(), 0.9);
  EXPECT_EQ(ev["pairs"].get<int>(), 80);

  // Merge: a plain folder that scores exactly like base + adapter.
  auto m = RunCommand(Tenet("merge --model " + *model_ + " --adapter " + run + "/adapter --out " + dir_ + "/merged"), true);
  ASSERT_EQ(m.exit_code, 0) << m.out;
  std::ofstream(dir_ + "/rec.jsonl") << R"({"messages": [{"role": "user", "content": "Question 3: can you help with my PIN?"}], "completion": "Certainly, I am glad to help you with my PIN."})"
                                     << "\n";
  auto a = RunCommand(Tenet("score --model " + *model_ + " --adapter " + run + "/adapter --dtype float32 --data " + dir_ + "/rec.jsonl"));
  auto b = RunCommand(Tenet("score --model " + dir_ + "/merged --dtype float32 --data " + dir_ + "/rec.jsonl"));
  ASSERT_EQ(a.exit_code, 0);
  ASSERT_EQ(b.exit_code, 0);
  const double la = json::parse(a.out)["logp"].get<double>(), lb = json::parse(b.out)["logp"].get<double>();
  EXPECT_NEAR(la, lb, 1e-4 * std::abs(la));
  auto base = RunCommand(Tenet("score --model " + *model_ + " --dtype float32 --data " + dir_ + "/rec.jsonl"));
  EXPECT_GT(la, json::parse(base.out)["logp"].get<double>());  // training made the polite answer likelier
}

TEST_F(TrainCli, ResumeAfterKill9EndsWithTheSameAdapterAndMetrics) {
  const std::string args = "--max-steps 24 --save-every 4 --batch-pairs 4 --lr 1e-3 --lora-dropout 0.1";
  auto full = RunCommand(Train(dir_ + "/a", args), true);
  ASSERT_EQ(full.exit_code, 0) << full.out;

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + Train(dir_ + "/b", args) + " 2>/dev/null >/dev/null").c_str(), nullptr);
    _exit(127);
  }
  const std::string marker = dir_ + "/b/checkpoints/step-00000008";
  for (int i = 0; i < 6000 && !IsDirectory(marker); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(IsDirectory(marker)) << "the run never reached its second checkpoint";
  ASSERT_FALSE(FileExists(dir_ + "/b/adapter/adapter_model.safetensors")) << "the run finished before the kill";

  auto resumed = RunCommand(Tenet("train dpo --resume " + dir_ + "/b --threads 2"), true);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.out;
  EXPECT_NE(resumed.out.find("resuming"), std::string::npos);
  EXPECT_EQ(*ReadFile(dir_ + "/a/adapter/adapter_model.safetensors"), *ReadFile(dir_ + "/b/adapter/adapter_model.safetensors"));
  EXPECT_EQ(*ReadFile(dir_ + "/a/metrics.jsonl"), *ReadFile(dir_ + "/b/metrics.jsonl"));
  // A finished run is not silently overwritten.
  auto again = RunCommand(Train(dir_ + "/a", args), true);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.out.find("already holds a run"), std::string::npos) << again.out;
}

TEST_F(TrainCli, ADivergingRunStopsWithAClearErrorAndKeepsItsCheckpoints) {
  auto r = RunCommand(Train(dir_ + "/run", "--max-steps 10 --save-every 1 --lr 1e30 --max-grad-norm 0"), true);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("the loss became"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checkpoints are intact"), std::string::npos) << r.out;
  EXPECT_TRUE(FileExists(dir_ + "/run/checkpoints/step-00000001/adapter/adapter_model.safetensors"));
}

TEST_F(TrainCli, HostileDataIsReportedOrRejectedWithTheLine) {
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  };
  const std::string ok = R"({"prompt": "Hi", "chosen": "Hello, how can I help?", "rejected": "What."})";
  // Structural problems: one error naming file:line, nothing trained.
  struct Bad {
    std::string text, expect;
  };
  for (const Bad& b : std::vector<Bad>{
           {ok + "\n" + R"({"prompt": "Hi", "chosen": "Hello"})" + "\n", "bad.jsonl:2: missing \"rejected\""},
           {ok + "\n{not json\n", "bad.jsonl:2: not valid JSON"},
           {ok + "\n{\"prompt\": \"\xff\xfe\", \"chosen\": \"a\", \"rejected\": \"b\"}\n", "bad.jsonl:2: not valid JSON (or not valid UTF-8)"},
           {ok + "\n" + R"({"prompt": 7, "chosen": "a", "rejected": "b"})" + "\n", "bad.jsonl:2"},
           {"", "holds no usable training pairs"},
           {R"({"prompt": "Hi", "chosen": "same", "rejected": "same"})" "\n", "holds no usable training pairs"},
       }) {
    auto r = RunCommand(Train(dir_ + "/run", "--max-steps 1", write("bad.jsonl", b.text)), true);
    EXPECT_EQ(r.exit_code, 1) << b.expect << "\n" << r.out;
    EXPECT_NE(r.out.find(b.expect), std::string::npos) << r.out;
    EXPECT_FALSE(FileExists(dir_ + "/run/metrics.jsonl"));
  }
  // Records without signal are dropped and counted; an over-long prompt is truncated and counted.
  std::string long_prompt;
  for (int i = 0; i < 80; ++i) long_prompt += "word" + std::to_string(i) + " ";
  const std::string data = write("mixed.jsonl", ok + "\n" + ok + "\n" + R"({"prompt": "Hi", "chosen": "x", "rejected": "x"})" + "\n" +
                                                    R"({"prompt": ")" + long_prompt + R"(", "chosen": "Yes.", "rejected": "No."})" + "\n" +
                                                    R"({"prompt": "", "chosen": "Empty prompt is fine.", "rejected": "Hm."})" + "\n");
  auto r = RunCommand(Train(dir_ + "/mixed", "--max-steps 1 --max-length 48 --truncation keep-start", data), true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json rep = ReadJson(dir_ + "/mixed/data_report.json");
  EXPECT_EQ(rep["records"].get<int>(), 5);
  EXPECT_EQ(rep["kept"].get<int>(), 3);
  EXPECT_EQ(rep["duplicates_dropped"].get<int>(), 1);
  EXPECT_EQ(rep["identical_dropped"].get<int>(), 1);
  EXPECT_EQ(rep["prompts_truncated"].get<int>(), 1);
  EXPECT_NE(r.out.find("1 duplicates dropped"), std::string::npos) << r.out;
}

// bf16 LoRA training multiplies by packed copies of the frozen weights where the build has them
// (`tenet info` says): the run records the setting, agrees with --packed-weights off to bf16
// rounding, and resumes after kill -9 bit for bit on the packed path.
TEST_F(TrainCli, Bf16RunsOnPackedWeightsAgreeWithMmAndResumeExactly) {
  auto info = RunCommand(Tenet("info"));
  ASSERT_EQ(info.exit_code, 0) << info.out;
  const json runtime = json::parse(info.out);
  const bool built = runtime["packed_weights"].get<bool>();
  // oneDNN packs bf16 weights only where it has a bf16 brgemm kernel (AVX512_BF16); elsewhere both
  // runs take mm and the test checks agreement and resume only.
  const bool packs = built && runtime["isa"]["kernels"] == "avx512_bf16";
  if (!packs) std::cerr << "note: kernels run " << runtime["isa"]["kernels"] << ": the packed path is not taken here\n";
  const std::string args = "--max-steps 16 --save-every 5 --batch-pairs 4 --lr 1e-3";
  const std::string bf16 = " --dtype bfloat16 --threads 2 ";
  auto on = RunCommand(Tenet("train dpo --model " + *model_ + " --data " + dir_ + "/prefs.jsonl --out " + dir_ + "/on" + bf16 + args), true);
  ASSERT_EQ(on.exit_code, 0) << on.out;
  auto off = RunCommand(Tenet("train dpo --model " + *model_ + " --data " + dir_ + "/prefs.jsonl --out " + dir_ + "/off" + bf16 + args +
                              " --packed-weights off"), true);
  ASSERT_EQ(off.exit_code, 0) << off.out;
  EXPECT_EQ(ReadJson(dir_ + "/on/config.json")["resolved"]["packed_weights"].get<bool>(), built);
  EXPECT_FALSE(ReadJson(dir_ + "/off/config.json")["resolved"]["packed_weights"].get<bool>());
  const auto a = Lines(dir_ + "/on/metrics.jsonl"), b = Lines(dir_ + "/off/metrics.jsonl");
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  // The first step's loss (the adapter still zero: log 2 for every pair) and the log-probs.
  EXPECT_NEAR(a[0]["loss"].get<double>(), b[0]["loss"].get<double>(), 1e-3);
  EXPECT_NEAR(a[0]["logps/chosen"].get<double>(), b[0]["logps/chosen"].get<double>(), 2e-2 * std::abs(b[0]["logps/chosen"].get<double>()));
  // Different kernels round differently: identical adapters would mean the packed path was not taken.
  const std::string adapter = "/adapter/adapter_model.safetensors";
  if (packs) {
    EXPECT_NE(*ReadFile(dir_ + "/on" + adapter), *ReadFile(dir_ + "/off" + adapter));
  }
  ExpectKilledRunResumesLike("dpo --data " + dir_ + "/prefs.jsonl" + bf16 + args, "on", "on2", "adapter/adapter_model.safetensors");
}

TEST_F(TrainCli, BadFlagsAreUsageErrors) {
  for (const std::string flags : {"--loss simpo2", "--lora-targets q_proj,foo_proj", "--beta 0", "--label-smoothing 0.1 --loss hinge",
                                   "--batch-pairs 0", "--test-fraction 1.5", "--truncation middle", "--schedule wavy",
                                   "--save-total-limit -1", "--packed-weights sometimes"}) {
    auto r = RunCommand(Train(dir_ + "/run", flags), true);
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.out;
    EXPECT_NE(r.out.find("tenet: error:"), std::string::npos) << r.out;
  }
  auto r = RunCommand(Tenet("train dpo --model " + *model_ + " --data " + dir_ + "/prefs.jsonl"), true);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  r = RunCommand(Tenet("train dpo --resume " + dir_ + "/nothing-here"), true);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  r = RunCommand(Tenet("merge --model " + *model_ + " --adapter " + dir_ + "/no-adapter --out " + dir_ + "/m"), true);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_FALSE(IsDirectory(dir_ + "/m"));
}

// Conversations whose assistant turn is always the same answer.
void WriteSft(const std::string& path, int n) {
  std::ofstream f(path);
  for (int i = 0; i < n; ++i) {
    json m = json::array({{{"role", "system"}, {"content", "You are Example Bank's assistant."}},
                          {{"role", "user"}, {"content", "Question " + std::to_string(i) + ": how do I reset my PIN?"}},
                          {{"role", "assistant"}, {"content", "Open the app, choose Cards, then Reset PIN."}}});
    f << json{{"messages", m}}.dump() << "\n";
  }
}

// A safetensors file read by hand (these tests link no tensor library): header and raw bytes.
struct Safetensors {
  explicit Safetensors(const std::string& path) : data(*ReadFile(path)) {
    uint64_t n = 0;
    std::memcpy(&n, data.data(), 8);
    header = json::parse(data.substr(8, n));
    header.erase("__metadata__");
    body = 8 + n;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [k, v] : header.items()) out.push_back(k);
    return out;
  }
  std::string Bytes(const std::string& name) const {
    const auto& o = header.at(name)["data_offsets"];
    return data.substr(body + o[0].get<size_t>(), o[1].get<size_t>() - o[0].get<size_t>());
  }
  std::string data;
  json header;
  size_t body = 0;
};

TEST_F(TrainCli, SftLearnsAssistantTurnsAndResumesAfterKill) {
  WriteSft(dir_ + "/sft.jsonl", 40);
  const std::string args = "--data " + dir_ + "/sft.jsonl --test-fraction 0.25 --max-steps 30 --batch-size 4 --lr 3e-3 --eval-every 10 --save-every 5 --gradient-checkpointing";
  auto r = RunCommand(Tenet("train sft --model " + *model_ + " --out " + dir_ + "/sft --dtype float32 --threads 2 " + args), true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Checkpointing asks for memory over speed: --packed-weights auto leaves the weights unpacked.
  EXPECT_FALSE(ReadJson(dir_ + "/sft/config.json")["resolved"]["packed_weights"].get<bool>());
  std::vector<json> evals, steps;
  for (const auto& l : Lines(dir_ + "/sft/metrics.jsonl")) (l.contains("eval_loss") ? evals : steps).push_back(l);
  ASSERT_EQ(steps.size(), 30u);
  ASSERT_EQ(evals.size(), 3u);
  for (const char* k : {"loss", "mean_token_accuracy", "num_tokens", "learning_rate", "grad_norm"}) EXPECT_TRUE(steps[0].contains(k)) << k;
  // Held-out conversations: the loss falls and the assistant tokens are predicted.
  EXPECT_LT(evals.back()["eval_loss"].get<double>(), evals.front()["eval_loss"].get<double>());
  EXPECT_LT(steps.back()["loss"].get<double>(), steps.front()["loss"].get<double>());
  EXPECT_GE(evals.back()["eval_mean_token_accuracy"].get<double>(), 0.9);

  // A DPO resume of an SFT run is refused; an SFT resume after kill -9 matches the full run.
  auto wrong = RunCommand(Tenet("train dpo --resume " + dir_ + "/sft"), true);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.out.find("holds a sft run"), std::string::npos) << wrong.out;
  ExpectKilledRunResumesLike("sft --dtype float32 --threads 2 " + args, "sft", "sft2", "adapter/adapter_model.safetensors");
}

// Full fine-tuning on a bf16 model with fp32 master weights: it learns, writes a plain HF folder
// (in the base folder's dtype) that other commands load, and resumes after kill -9 bit for bit.
TEST_F(TrainCli, FullSftTrainsEveryWeightAndResumesExactly) {
  WriteSft(dir_ + "/sft.jsonl", 40);
  const std::string args = "--full --data " + dir_ + "/sft.jsonl --test-fraction 0.25 --max-steps 20 --batch-size 4 --lr 1e-3 "
                           "--eval-every 10 --save-every 5 --save-total-limit 2 --dtype bfloat16 --threads 2";
  auto r = RunCommand(Tenet("train sft --model " + *model_ + " --out " + dir_ + "/full " + args), true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("\"model\":"), std::string::npos) << r.out;
  std::vector<json> evals, steps;
  for (const auto& l : Lines(dir_ + "/full/metrics.jsonl")) (l.contains("eval_loss") ? evals : steps).push_back(l);
  ASSERT_EQ(steps.size(), 20u);
  ASSERT_EQ(evals.size(), 2u);
  // From a near-uniform start (log 128256 = 11.76): the answer tokens become the most likely ones.
  EXPECT_LT(steps.back()["loss"].get<double>(), steps.front()["loss"].get<double>() - 1.5);
  EXPECT_LT(evals.back()["eval_loss"].get<double>(), evals.front()["eval_loss"].get<double>());
  EXPECT_EQ(steps.front()["mean_token_accuracy"].get<double>(), 0.0);
  EXPECT_GE(evals.back()["eval_mean_token_accuracy"].get<double>(), 0.9);
  const json config = ReadJson(dir_ + "/full/config.json");
  EXPECT_GT(config["resolved"]["full"]["parameters"].get<int64_t>(), 0);
  EXPECT_FALSE(IsDirectory(dir_ + "/full/adapter"));
  // --save-total-limit 2: of the checkpoints at steps 5, 10, 15 and 20, the newest two stay.
  std::vector<std::string> checkpoints;
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/full/checkpoints")) checkpoints.push_back(e.path().filename().string());
  std::sort(checkpoints.begin(), checkpoints.end());
  EXPECT_EQ(checkpoints, (std::vector<std::string>{"step-00000015", "step-00000020"}));

  // The model folder: every tensor of the base, in the base's dtype, most of them changed.
  const std::string trained = dir_ + "/full/model";
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_TRUE(FileExists(trained + "/" + f)) << f;
  }
  const Safetensors base(*model_ + "/model.safetensors"), got(trained + "/model.safetensors");
  ASSERT_EQ(base.names(), got.names());
  size_t changed = 0;
  for (const auto& name : base.names()) {
    EXPECT_EQ(base.header[name]["dtype"], got.header[name]["dtype"]) << name;
    EXPECT_EQ(base.header[name]["shape"], got.header[name]["shape"]) << name;
    if (base.Bytes(name) != got.Bytes(name)) ++changed;
  }
  EXPECT_EQ(changed, base.names().size());

  // It loads like any model and prefers the trained answer to a held-out question.
  {
    std::ofstream f(dir_ + "/score.jsonl");
    f << json{{"messages", json::array({{{"role", "user"}, {"content", "Question 99: how do I reset my PIN?"}}})},
              {"completion", "Open the app, choose Cards, then Reset PIN."}}
             .dump()
      << "\n";
  }
  auto before = RunCommand(Tenet("score --model " + *model_ + " --data " + dir_ + "/score.jsonl --threads 2"), false);
  auto after = RunCommand(Tenet("score --model " + trained + " --data " + dir_ + "/score.jsonl --threads 2"), false);
  ASSERT_EQ(before.exit_code, 0) << before.out;
  ASSERT_EQ(after.exit_code, 0) << after.out;
  EXPECT_GT(json::parse(after.out)["logp"].get<double>(), json::parse(before.out)["logp"].get<double>() + 5);

  // kill -9 after a checkpoint, resume: the same weights and metrics as the uninterrupted run.
  ExpectKilledRunResumesLike("sft " + args, "full", "full2", "model/model.safetensors");

  // --full cannot continue an adapter, and DPO has no --full (its reference is the adapter-off model).
  auto bad = RunCommand(Tenet("train sft --model " + *model_ + " --out " + dir_ + "/bad --data " + dir_ +
                              "/sft.jsonl --full --adapter " + dir_ + "/full"),
                        true);
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_NE(bad.out.find("--full"), std::string::npos) << bad.out;
  bad = RunCommand(Train(dir_ + "/bad", "--full"), true);
  EXPECT_EQ(bad.exit_code, 2) << bad.out;
  EXPECT_FALSE(IsDirectory(dir_ + "/bad"));
}

}  // namespace
}  // namespace tenet
