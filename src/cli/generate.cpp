// `tenet generate`: N candidate answers per question with the organization's values as the system
// prompt, written as JSONL one question per line (resumable), optionally as a Ground Truth-style
// manifest too.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "tenet/cli/commands.h"
#include "tenet/data/completion_encoder.h"
#include "tenet/data/questions.h"
#include "tenet/generate/engine.h"
#include "tenet/generate/stops.h"
#include "tenet/util/file.h"

namespace tenet::cli {

namespace {
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct GenerateArgs {
  std::string model, adapter, questions, system, out, manifest, tokenizer;
  std::vector<std::string> stop;
  int32_t samples = 4, max_new_tokens = 256, slots = 0;
  SamplingParams sampling;
  bool resume = false;
  RuntimeOptions rt;
};

json SamplingJson(const SamplingParams& p) {
  return {{"temperature", p.temperature},        {"top_k", p.top_k},
          {"top_p", p.top_p},                    {"min_p", p.min_p},
          {"repetition_penalty", p.repetition_penalty}, {"presence_penalty", p.presence_penalty},
          {"frequency_penalty", p.frequency_penalty}};
}

Status Run(const GenerateArgs& a) {
  TENET_RETURN_IF_ERROR(ValidateSamplingParams(a.sampling));
  TENET_RETURN_IF_ERROR(ValidateStopStrings(a.stop, "--stop"));
  std::string system;
  if (!a.system.empty()) {
    TENET_ASSIGN_OR_RETURN(system, ReadSystemFile(a.system));
  }
  TENET_ASSIGN_OR_RETURN(std::vector<Question> questions, LoadQuestions(a.questions, system));
  if (!IsDirectory(a.model)) return Status::NotFound(a.model, "no such model folder");
  TENET_ASSIGN_OR_RETURN(auto tok, Tokenizer::Load(a.tokenizer.empty() ? a.model : a.tokenizer));
  TENET_ASSIGN_OR_RETURN(auto encoder, CompletionEncoder::Create(*tok));
  TENET_ASSIGN_OR_RETURN(auto out, ResponsesFile::Open(a.out, a.resume));
  std::unique_ptr<ResponsesFile> manifest;
  if (!a.manifest.empty()) {
    TENET_ASSIGN_OR_RETURN(manifest, ResponsesFile::Open(a.manifest, a.resume));
  }

  TENET_ASSIGN_OR_RETURN(RuntimeOptions rt, PreferBf16ForGeneration(a.rt));
  TENET_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelForCli(a.model, a.adapter, rt));
  const std::vector<int32_t> stop_ids = ChatStopIds(loaded.eos_token_ids, encoder->end_of_turn_id());

  // Tokenize every pending question first: a prompt that cannot fit fails before any work.
  std::vector<GenerationRequest> requests;
  std::vector<size_t> which;
  for (size_t i = 0; i < questions.size(); ++i) {
    if (out->done_ids().count(questions[i].id)) continue;
    auto ids = encoder->EncodeChatPrompt(questions[i].messages);
    if (!ids.ok()) return ids.status().WithContext(a.questions + ": question " + questions[i].id);
    const int64_t limit = loaded.config.max_position_embeddings;
    if (static_cast<int64_t>(ids->size()) + a.max_new_tokens > limit) {
      return Status::InvalidArgument(a.questions + ": question " + questions[i].id,
                                     std::to_string(ids->size()) + " prompt tokens + --max-new-tokens " +
                                         std::to_string(a.max_new_tokens) + " exceed the model's context of " +
                                         std::to_string(limit) + " tokens");
    }
    GenerationRequest r;
    r.prompt = std::move(ids).value();
    r.n = a.samples;
    r.max_new_tokens = a.max_new_tokens;
    r.sampling = a.sampling;
    r.sampling.seed = a.sampling.seed + 1000003ull * i;  // per question, independent of resume
    r.stop_ids = stop_ids;
    if (!a.stop.empty()) r.stop_when = StopWhen(*tok, a.stop);
    requests.push_back(std::move(r));
    which.push_back(i);
  }
  const size_t skipped = questions.size() - requests.size();
  std::cerr << "tenet generate: " << requests.size() << " questions to answer (" << skipped << " already done), "
            << a.samples << " samples each\n";
  if (requests.empty()) return Status::OK();

  EngineOptions eo;
  eo.slots = a.slots > 0 ? a.slots : std::max(a.samples, 4 * a.samples);
  if (eo.slots < a.samples) return Status::InvalidArgument("--slots", "must be at least --samples");
  TENET_ASSIGN_OR_RETURN(auto engine, Engine::Create(*loaded.model, eo));

  // Samples finish out of order; a question's line is written when its last sample is done.
  std::map<size_t, std::vector<Completion>> partial;
  std::map<size_t, int32_t> received;
  size_t finished = 0;
  int64_t tokens = 0;
  const auto start = Clock::now();
  Status write_status;
  auto on_done = [&](size_t r, int32_t k, Completion c) {
    tokens += static_cast<int64_t>(c.ids.size());
    auto& got = partial[r];
    got.resize(static_cast<size_t>(a.samples));
    got[static_cast<size_t>(k)] = std::move(c);
    if (++received[r] < a.samples) return;
    const Question& q = questions[which[r]];
    json responses = json::array(), details = json::array();
    for (const Completion& x : got) {
      std::string text = tok->Decode(x.ids, /*skip_special=*/true).value();
      bool hit = false;
      text = CutAtStop(text, a.stop, &hit);
      responses.push_back(text);
      details.push_back({{"tokens", x.ids.size()}, {"finish_reason", hit ? "stop" : FinishReasonName(x.finish)}});
    }
    json line = {{"id", q.id},           {"messages", q.messages}, {"responses", responses}, {"details", details},
                 {"model", a.model},     {"sampling", SamplingJson(a.sampling)},
                 {"seed", requests[r].sampling.seed}};
    if (write_status.ok()) write_status = out->Append(line);
    if (write_status.ok() && manifest) {
      write_status = manifest->Append({{"source", q.messages.back()["content"]}, {"id", q.id}, {"responses", responses}});
    }
    partial.erase(r);
    received.erase(r);
    ++finished;
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = finished / std::max(secs, 1e-9);
    std::cerr << "\rtenet generate: " << finished << "/" << requests.size() << " questions, "
              << static_cast<int64_t>(tokens / std::max(secs, 1e-9)) << " tokens/s, ETA "
              << static_cast<int64_t>((requests.size() - finished) / std::max(rate, 1e-9)) << " s   " << std::flush;
  };
  TENET_RETURN_IF_ERROR(engine->Generate(requests, on_done));
  std::cerr << "\n";
  TENET_RETURN_IF_ERROR(write_status);
  const EngineStats& st = engine->stats();
  json summary = {{"questions", requests.size()},
                  {"skipped", skipped},
                  {"prefill_tokens_per_s", st.prefill_tokens / std::max(st.prefill_seconds, 1e-9)},
                  {"decode_tokens_per_s", st.decode_tokens / std::max(st.decode_seconds, 1e-9)},
                  {"dtype", rt.dtype.empty() ? DtypeName(loaded.model->dtype()) : rt.dtype},
                  {"out", a.out}};
  std::cerr << summary.dump() << "\n";
  return Status::OK();
}
}  // namespace

RunFn AddGenerateCommand(CLI::App& sub) {
  auto a = std::make_shared<GenerateArgs>();
  sub.add_option("--model", a->model, "HF model folder (instruct model with a chat template)")->required();
  sub.add_option("--adapter", a->adapter, "PEFT LoRA adapter folder to apply on top of the model (unmerged)");
  sub.add_option("--questions", a->questions, "Text file (one question per line, # comments) or JSONL {id, question|messages}")
      ->required();
  sub.add_option("--system", a->system, "File whose content is the system message (brand and values)");
  sub.add_option("--out", a->out, "JSONL to write, one line per question")->required();
  sub.add_option("--manifest", a->manifest, "Also write a Ground Truth-style manifest {source, responses}");
  sub.add_option("--samples", a->samples, "Answers per question")->check(CLI::Range(1, 64))->capture_default_str();
  sub.add_option("--max-new-tokens", a->max_new_tokens, "Tokens per answer at most")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  AddSamplingFlags(sub, &a->sampling);
  sub.add_option("--presence-penalty", a->sampling.presence_penalty, "0 = off (OpenAI semantics)")->capture_default_str();
  sub.add_option("--frequency-penalty", a->sampling.frequency_penalty, "0 = off (OpenAI semantics)")->capture_default_str();
  sub.add_option("--seed", a->sampling.seed, "Same seed, same answers")->capture_default_str();
  sub.add_option("--stop", a->stop, "Stop string (repeatable); the text is cut before it");
  sub.add_option("--slots", a->slots, "Sequences decoded together (default 4 x --samples)")->check(CLI::NonNegativeNumber);
  sub.add_option("--tokenizer", a->tokenizer, "Tokenizer folder (default: the model folder)");
  sub.add_flag("--resume", a->resume, "Continue an interrupted run: keep finished questions, cut a torn last line");
  AddRuntimeFlags(sub, &a->rt);
  sub.footer(R"(Output, one line per question:
  {"id", "messages", "responses": [N strings], "details": [{"tokens", "finish_reason": "stop"|"length"}],
   "model", "sampling", "seed"}

Examples:
  tenet generate --model llama3-8b-instruct/ --questions examples/example-bank/questions.txt \
      --system examples/example-bank/values.md --samples 4 --max-new-tokens 256 \
      --temperature 0.8 --top-p 0.9 --seed 7 --out llm_responses.jsonl --manifest gt-input.jsonl
  tenet generate ... --out llm_responses.jsonl --resume        # after an interruption)");
  return [a]() {
    Status s = Run(*a);
    return s.ok() ? kExitOk : Fail(s);
  };
}

}  // namespace tenet::cli
