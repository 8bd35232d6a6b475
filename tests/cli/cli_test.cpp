// The `tenet` binary end to end: model init -> info -> score, and the CLI contract for bad input:
// exit 2 for usage errors, exit 1 with exactly one "tenet: error: ..." line for runtime errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tenet/util/file.h"
#include "test_util.h"

namespace tenet {
namespace {

using json = nlohmann::json;
using testing::RunCommand;
using testing::ShellQuote;

std::string Tenet(const std::string& args) { return testing::TenetCommand(args); }
std::vector<json> JsonLines(const std::string& text) { return testing::ParseJsonLines(text); }

// Runs a command expected to fail at run time: exit 1, stderr one line naming `needle`.
void ExpectRuntimeError(const std::string& args, const std::string& needle) {
  auto r = RunCommand(Tenet(args) + " 2>&1 >/dev/null");
  EXPECT_EQ(r.exit_code, 1) << args << "\n" << r.out;
  EXPECT_EQ(r.out.rfind("tenet: error: ", 0), 0u) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "expected one line:\n" << r.out;
  EXPECT_NE(r.out.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.out;
}

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string log;
    model_ = new std::string(testing::CliTinyModel(&log));
    ASSERT_FALSE(model_->empty()) << log;
  }
  static void TearDownTestSuite() { delete model_; }
  static std::string* model_;
};
std::string* Cli::model_ = nullptr;

TEST_F(Cli, ModelInitWritesACompleteHfFolder) {
  for (const char* f : {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_TRUE(FileExists(*model_ + "/" + f)) << f;
  }
  auto gen = json::parse(*ReadFile(*model_ + "/generation_config.json"));
  EXPECT_EQ(gen["eos_token_id"], json({128001, 128009})) << "Llama 3 stops on <|end_of_text|> and <|eot_id|>";
  auto cfg = json::parse(*ReadFile(*model_ + "/config.json"));
  EXPECT_EQ(cfg["vocab_size"], 128256);
  EXPECT_EQ(cfg["num_hidden_layers"], 2);
  EXPECT_EQ(cfg["hidden_size"], 64);
  EXPECT_EQ(cfg["rope_scaling"]["rope_type"], "llama3");
  // Same seed, same bytes.
  std::string again = testing::ScratchDir() + "/again";
  auto r = RunCommand(Tenet("model init --out " + again + " --preset tiny --seed 1 --dtype float32 --tokenizer " +
                            ShellQuote(testing::Llama3TokenizerDir())));
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(*ReadFile(again + "/model.safetensors"), *ReadFile(*model_ + "/model.safetensors"));
}

TEST_F(Cli, ModelInitShardsAndRefusesToOverwrite) {
  const std::string scratch = testing::ScratchDir();
  std::string dir = scratch + "/sharded";
  auto r = RunCommand(Tenet("model init --out " + dir + " --preset tiny --shard-size 10MB --tokenizer " +
                            ShellQuote(testing::Llama3TokenizerDir())),
                      true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(FileExists(dir + "/model.safetensors.index.json"));
  ExpectRuntimeError("model init --out " + dir + " --preset tiny --tokenizer " + ShellQuote(testing::Llama3TokenizerDir()),
                     "--force");
  ExpectRuntimeError("model init --out " + scratch + "/x --preset huge --tokenizer " +
                         ShellQuote(testing::Llama3TokenizerDir()),
                     "unknown (known: tiny, small, bench, llama-3.2-1b)");
  ExpectRuntimeError("model init --out " + scratch + "/y --tokenizer /nonexistent", "/nonexistent");
  auto info = RunCommand(Tenet("info --model " + dir));
  ASSERT_EQ(info.exit_code, 0);
  const json j = json::parse(info.out);
  EXPECT_EQ(j["model"]["checkpoint_dtype"], "bfloat16");
  EXPECT_EQ(j["model"]["weight_dtype"], "bfloat16");  // bf16 storage on every CPU
  // The compute-dtype policy: bf16 where the kernels have native bf16, fp32 elsewhere.
  EXPECT_EQ(j["model"]["dtype"], j["isa"]["kernels"] == "avx512_bf16" ? "bfloat16" : "float32") << j["model"]["dtype_reason"];
}

TEST_F(Cli, IsaSwitchCapsKernelsAndLibrariesAndPicksFp32Compute) {
  for (const std::string how : {"--isa avx2 info", "info --isa avx2"}) {
    auto r = RunCommand(Tenet(how + " --model " + *model_));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const json j = json::parse(r.out);
    if (j["isa"]["cpu"] == "baseline") GTEST_SKIP() << "this CPU has no AVX2";
    EXPECT_EQ(j["isa"]["kernels"], "avx2");
    EXPECT_EQ(j["model"]["dtype"], "float32") << j["model"]["dtype_reason"];
    if (j["isa"]["cpu"] != "avx2") {  // the libraries are capped only below what the CPU has
      EXPECT_NE(j["isa"]["libraries"].get<std::string>().find("ONEDNN_MAX_CPU_ISA=AVX2"), std::string::npos) << j["isa"];
      if (j["blas"]["vendor"] == "OpenBLAS") {
        EXPECT_EQ(j["blas"]["core"], "Haswell") << "OpenBLAS was not capped: no re-exec?";
      }
    }
  }
  auto env = RunCommand("TENET_ISA=avx2 " + Tenet("info"));
  ASSERT_EQ(env.exit_code, 0);
  EXPECT_EQ(json::parse(env.out)["isa"]["kernels"], "avx2");
  auto bad = RunCommand(Tenet("--isa avx3 info") + " 2>&1");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.out.find("unknown (known: native"), std::string::npos) << bad.out;
}

TEST_F(Cli, InfoReportsRuntimeAndModel) {
  auto r = RunCommand(Tenet("info --model " + *model_ + " --threads 1"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json j = json::parse(r.out);
  EXPECT_EQ(j["threads"], 1);
  EXPECT_TRUE(j["blas"].contains("vendor"));
#if defined(TENET_HAVE_TCMALLOC)
  EXPECT_EQ(j["malloc"].get<std::string>().rfind("tcmalloc", 0), 0u) << j["malloc"];
#else
  EXPECT_EQ(j["malloc"], "glibc");
#endif
  EXPECT_EQ(j["model"]["layers"], 2);
  EXPECT_EQ(j["model"]["kv_heads"], 2);
  EXPECT_EQ(j["model"]["kv_cache_bytes_per_token"], 2 * 2 * 2 * 16 * 4);
  EXPECT_EQ(j["model"]["weight_bytes"], j["model"]["parameters"].get<int64_t>() * 4);
  auto bf = RunCommand(Tenet("info --model " + *model_ + " --dtype bfloat16"));
  EXPECT_EQ(json::parse(bf.out)["model"]["weight_bytes"], j["model"]["parameters"].get<int64_t>() * 2);
}

TEST_F(Cli, ScoreBatchedEqualsOneByOneAndEchoesIds) {
  std::string dir = testing::ScratchDir();
  std::ofstream(dir + "/r.jsonl")
      << R"({"id": "a", "prompt": "The capital of France is", "completion": " Paris."})" << "\n\n"
      << R"({"id": 7, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What's the APR on my card?"}], "completion": "It is 19.9% APR; see the app for details."})" << "\n"
      << R"({"prompt": [{"role": "user", "content": "Hi"}], "completion": [{"role": "assistant", "content": "Hello <|eot_id|> there"}]})" << "\n";
  auto batched = RunCommand(Tenet("score --model " + *model_ + " --data " + dir + "/r.jsonl --batch-size 8 2>/dev/null"));
  auto single = RunCommand(Tenet("score --model " + *model_ + " --data " + dir + "/r.jsonl --batch-size 1 2>/dev/null"));
  ASSERT_EQ(batched.exit_code, 0) << batched.out;
  ASSERT_EQ(single.exit_code, 0);
  auto b = JsonLines(batched.out), s = JsonLines(single.out);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0]["id"], "a");
  EXPECT_EQ(b[1]["id"], 7);
  EXPECT_FALSE(b[2].contains("id"));
  // Plain text: BOS + 5 prompt tokens; " Paris." = 2 tokens + EOS.
  EXPECT_EQ(b[0]["prompt_tokens"], 6);
  EXPECT_EQ(b[0]["tokens"], 3);
  // Untrusted completion text: "<|eot_id|>" inside it is plain text, plus one real end-of-turn token.
  EXPECT_GT(b[2]["tokens"].get<int>(), 4);
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_LT(b[i]["logp"].get<double>(), 0.0);
    EXPECT_EQ(b[i]["tokens"], s[i]["tokens"]);
    EXPECT_NEAR(b[i]["logp"].get<double>(), s[i]["logp"].get<double>(), 1e-4 * std::abs(s[i]["logp"].get<double>()));
  }
  // --out writes the same lines to a file.
  auto to_file = RunCommand(Tenet("score --model " + *model_ + " --data " + dir + "/r.jsonl --out " + dir + "/o.jsonl 2>/dev/null"));
  ASSERT_EQ(to_file.exit_code, 0);
  EXPECT_EQ(JsonLines(*ReadFile(dir + "/o.jsonl")).size(), 3u);
}

TEST_F(Cli, ScoreWithAdapterChangesScores) {
  std::string dir = testing::ScratchDir();
  auto mk = RunCommand("/usr/bin/python3 " + ShellQuote(testing::SourceDir() + "/tests/reference/llama_reference.py") +
                           " make-adapter --model " + *model_ + " --out " + dir + "/adapter",
                       true);
  ASSERT_EQ(mk.exit_code, 0) << mk.out;
  std::ofstream(dir + "/r.jsonl") << R"({"prompt": "Hello", "completion": " world"})" << "\n";
  auto base = RunCommand(Tenet("score --model " + *model_ + " --data " + dir + "/r.jsonl 2>/dev/null"));
  auto tuned = RunCommand(Tenet("score --model " + *model_ + " --adapter " + dir + "/adapter --data " + dir + "/r.jsonl 2>/dev/null"));
  ASSERT_EQ(base.exit_code, 0);
  ASSERT_EQ(tuned.exit_code, 0) << tuned.out;
  EXPECT_NE(JsonLines(base.out)[0]["logp"], JsonLines(tuned.out)[0]["logp"]);
  auto info = RunCommand(Tenet("info --model " + *model_ + " --adapter " + dir + "/adapter"));
  EXPECT_GT(json::parse(info.out)["model"]["lora_parameters"].get<int64_t>(), 0);
}

TEST_F(Cli, ScoreRejectsBadInput) {
  std::string dir = testing::ScratchDir();
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name) << content;
    return dir + "/" + name;
  };
  const std::string m = " --model " + *model_ + " --data ";
  ExpectRuntimeError("score" + m + write("a.jsonl", "{\"prompt\": \"x\"}\n"), "a.jsonl:1: record: missing \"completion\"");
  ExpectRuntimeError("score" + m + write("b.jsonl", "{\"prompt\": \"x\", \"completion\": \"y\"}\nnot json\n"), "b.jsonl:2: not valid JSON");
  ExpectRuntimeError("score" + m + write("c.jsonl", "{\"messages\": [{\"role\": \"pirate\", \"content\": \"arr\"}], \"completion\": \"y\"}\n"),
                     "unknown role");
  ExpectRuntimeError("score" + m + write("d.jsonl", "\n\n"), "holds no records");
  ExpectRuntimeError("score" + m + write("e.jsonl", "{\"prompt\": \"\\xff\", \"completion\": \"y\"}\n"), "e.jsonl:1");
  std::string invalid_utf8 = std::string("{\"prompt\": \"a\xff\", \"completion\": \"y\"}\n");
  ExpectRuntimeError("score" + m + write("f.jsonl", invalid_utf8), "f.jsonl:1");
  ExpectRuntimeError("score" + m + dir + "/missing.jsonl", "missing.jsonl");
  ExpectRuntimeError("score --model /nonexistent --data " + write("g.jsonl", "{}"), "no such model folder");
  ExpectRuntimeError("score" + m + write("h.jsonl", "{\"prompt\": \"a\", \"completion\": \"b\"}\n") + " --adapter " + dir,
                     "adapter_config.json");
}

TEST_F(Cli, DamagedModelFolderIsOneClearError) {
  std::string dir = testing::ScratchDir() + "/damaged";
  std::filesystem::copy(*model_, dir);  // never damage the shared fixture itself
  std::filesystem::resize_file(dir + "/model.safetensors", 1000);
  std::ofstream(dir + "/r.jsonl") << R"({"prompt": "a", "completion": "b"})" << "\n";
  ExpectRuntimeError("score --model " + dir + " --data " + dir + "/r.jsonl", "model.safetensors");
  ExpectRuntimeError("info --model " + dir, "truncated");
}

TEST_F(Cli, UsageErrorsExitTwo) {
  for (const char* args : {"", "nonsense", "score", "score --model x --data y --batch-size 0", "info --device tpu",
                           "info --dtype int8", "model init --out x"}) {
    auto r = RunCommand(Tenet(args) + " 2>&1");
    EXPECT_EQ(r.exit_code, 2) << "tenet " << args << "\n" << r.out;
  }
  auto help = RunCommand(Tenet("score --help"));
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("Examples:"), std::string::npos);
  auto device = RunCommand(Tenet("info --device cuda --model " + *model_) + " 2>&1");
  if (device.exit_code != 0) {
    EXPECT_NE(device.out.find("no CUDA device"), std::string::npos) << device.out;
  }
}

}  // namespace
}  // namespace tenet
