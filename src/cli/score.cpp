// `tenet score`: for each JSONL record, the summed log-probability of the completion given the
// prompt and the number of completion tokens (tokenization: tenet/data/completion_encoder.h).
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "tenet/cli/commands.h"
#include "tenet/data/completion_encoder.h"
#include "tenet/data/jsonl.h"
#include "tenet/model/logprobs.h"
#include "tenet/util/file.h"

namespace tenet::cli {

namespace {
using json = nlohmann::json;

struct ScoreArgs {
  std::string model, adapter, data, out, tokenizer;
  int64_t batch_size = 8;
  int64_t max_batch_tokens = 8192;
  RuntimeOptions rt;
};

Status Run(const ScoreArgs& a) {
  if (!IsDirectory(a.model)) return Status::NotFound(a.model, "no such model folder");
  TENET_ASSIGN_OR_RETURN(auto tok, Tokenizer::Load(a.tokenizer.empty() ? a.model : a.tokenizer));
  TENET_ASSIGN_OR_RETURN(auto encoder, CompletionEncoder::Create(*tok));

  // Tokenize and validate everything before loading the model: a bad line fails fast.
  std::vector<ScoredSequence> seqs;
  std::vector<json> ids;
  TENET_RETURN_IF_ERROR(ForEachJsonlObject(a.data, [&](const json& r, const std::string& where, int64_t) -> Status {
    auto enc = EncodeRecord(*encoder, r);
    if (!enc.ok()) return enc.status().WithContext(where);
    if (enc->prompt.empty()) return Status::InvalidArgument(where, "the prompt has no tokens (nothing to condition on)");
    ScoredSequence s;
    s.ids.assign(enc->prompt.begin(), enc->prompt.end());
    s.ids.insert(s.ids.end(), enc->completion.begin(), enc->completion.end());
    s.prompt_len = static_cast<int64_t>(enc->prompt.size());
    seqs.push_back(std::move(s));
    ids.push_back(r.contains("id") ? r["id"] : json(nullptr));
    return Status::OK();
  }));
  if (seqs.empty()) return Status::InvalidArgument(a.data, "holds no records");

  TENET_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelForCli(a.model, a.adapter, a.rt));
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (static_cast<int64_t>(seqs[i].ids.size()) > loaded.config.max_position_embeddings) {
      return Status::InvalidArgument(a.data, "record " + std::to_string(i + 1) + " has " + std::to_string(seqs[i].ids.size()) +
                                                 " tokens, more than the model's max_position_embeddings " +
                                                 std::to_string(loaded.config.max_position_embeddings));
    }
  }
  // Batch records of similar length together (less padding); results go back in input order.
  std::vector<size_t> order(seqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return seqs[x].ids.size() < seqs[y].ids.size(); });
  std::vector<SequenceScore> scores(seqs.size());
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  int64_t done_tokens = 0;
  for (size_t i = 0; i < order.size();) {
    std::vector<ScoredSequence> batch;
    std::vector<size_t> which;
    size_t longest = 0;
    while (i < order.size() && static_cast<int64_t>(batch.size()) < a.batch_size) {
      const auto& s = seqs[order[i]];
      longest = std::max(longest, s.ids.size());
      if (!batch.empty() && static_cast<int64_t>(longest * (batch.size() + 1)) > a.max_batch_tokens) break;
      batch.push_back(s);
      which.push_back(order[i]);
      done_tokens += static_cast<int64_t>(s.ids.size());
      ++i;
    }
    TENET_ASSIGN_OR_RETURN(auto result, ScoreSequences(*loaded.model, batch));
    for (size_t k = 0; k < which.size(); ++k) scores[which[k]] = result[k];
    auto now = std::chrono::steady_clock::now();
    if (std::chrono::duration<double>(now - last_report).count() > 2.0 || i == order.size()) {
      double secs = std::chrono::duration<double>(now - start).count();
      std::cerr << "\rtenet score: " << i << "/" << order.size() << " records, "
                << static_cast<int64_t>(done_tokens / std::max(secs, 1e-9)) << " tokens/s" << std::flush;
      last_report = now;
    }
  }
  std::cerr << "\n";
  std::string out;
  for (size_t i = 0; i < seqs.size(); ++i) {
    json j;
    if (!ids[i].is_null()) j["id"] = ids[i];
    j["logp"] = scores[i].logp;
    j["tokens"] = scores[i].tokens;
    j["prompt_tokens"] = seqs[i].prompt_len;
    out += j.dump() + "\n";
  }
  return WriteOutput(a.out, out);
}
}  // namespace

RunFn AddScoreCommand(CLI::App& sub) {
  auto a = std::make_shared<ScoreArgs>();
  sub.add_option("--model", a->model, "HF model folder")->required();
  sub.add_option("--adapter", a->adapter, "PEFT LoRA adapter folder to apply");
  sub.add_option("--data", a->data, "JSONL records: {prompt, completion} or {messages, completion}")->required();
  sub.add_option("--out", a->out, "Write results here instead of stdout");
  sub.add_option("--tokenizer", a->tokenizer, "Tokenizer folder (default: the model folder)");
  sub.add_option("--batch-size", a->batch_size, "Records per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  sub.add_option("--max-batch-tokens", a->max_batch_tokens, "Cap on padded tokens per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  AddRuntimeFlags(sub, &a->rt);
  sub.footer(R"(Records (one JSON object per line; "id" is echoed when present):
  {"prompt": "The capital of France is", "completion": " Paris."}
  {"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "..."}], "completion": "..."}
Output: one {"logp": <sum of completion log-probs>, "tokens": <completion tokens>, "prompt_tokens": n} per line.

Examples:
  tenet score --model tiny/ --data records.jsonl
  tenet score --model base/ --adapter runs/dpo1/adapter --data records.jsonl --dtype float32 --out scores.jsonl)");
  return [a]() {
    Status s = Run(*a);
    return s.ok() ? kExitOk : Fail(s);
  };
}

}  // namespace tenet::cli
