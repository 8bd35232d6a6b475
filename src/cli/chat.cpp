// `tenet chat`: an interactive terminal chat with a model, answers streamed token by token. Lines
// from stdin are user turns; "/reset" forgets the conversation, "/exit" (or end of input) quits.
// Works with a pipe as well as a terminal (the prompt marker only shows on a terminal).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tenet/cli/commands.h"
#include "tenet/data/completion_encoder.h"
#include "tenet/generate/engine.h"
#include "tenet/generate/stops.h"
#include "tenet/util/file.h"

namespace tenet::cli {

namespace {
using json = nlohmann::json;

struct ChatArgs {
  std::string model, adapter, system, tokenizer;
  int32_t max_new_tokens = 512;
  SamplingParams sampling;
  RuntimeOptions rt;
};

Status Run(ChatArgs a) {
  TENET_RETURN_IF_ERROR(ValidateSamplingParams(a.sampling));
  std::string system;
  if (!a.system.empty()) {
    TENET_ASSIGN_OR_RETURN(system, ReadSystemFile(a.system));
  }
  if (!IsDirectory(a.model)) return Status::NotFound(a.model, "no such model folder");
  TENET_ASSIGN_OR_RETURN(auto tok, Tokenizer::Load(a.tokenizer.empty() ? a.model : a.tokenizer));
  TENET_ASSIGN_OR_RETURN(auto encoder, CompletionEncoder::Create(*tok));
  TENET_ASSIGN_OR_RETURN(RuntimeOptions rt, PreferBf16ForGeneration(a.rt));
  TENET_ASSIGN_OR_RETURN(LoadedModel loaded, LoadModelForCli(a.model, a.adapter, rt));
  EngineOptions eo;
  eo.slots = 1;
  TENET_ASSIGN_OR_RETURN(auto engine, Engine::Create(*loaded.model, eo));
  const int64_t context = std::min<int64_t>(loaded.config.max_position_embeddings, 4096);
  const std::vector<int32_t> stop_ids = ChatStopIds(loaded.eos_token_ids, encoder->end_of_turn_id());
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  if (tty) std::cerr << "tenet chat: " << a.model << " (" << DtypeName(loaded.model->dtype()) << "). /reset, /exit\n";

  json history = json::array();
  uint64_t turn = 0;
  for (std::string line;;) {
    if (tty) std::cerr << "> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      history = json::array();
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    history.push_back({{"role", "user"}, {"content", line}});
    // Oldest turns go first when the conversation outgrows the context.
    std::vector<int32_t> prompt;
    while (true) {
      json messages = json::array();
      if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
      for (const auto& m : history) messages.push_back(m);
      auto ids = encoder->EncodeChatPrompt(messages);
      if (!ids.ok()) {
        std::cerr << "tenet: error: " << ids.status().message() << "\n";
        history.erase(history.end() - 1);
        break;
      }
      if (static_cast<int64_t>(ids->size()) + a.max_new_tokens <= context || history.size() <= 1) {
        prompt = std::move(ids).value();
        break;
      }
      history.erase(history.begin(), history.begin() + std::min<size_t>(2, history.size() - 1));
    }
    if (prompt.empty()) continue;
    GenerationRequest r;
    r.prompt = prompt;
    r.max_new_tokens = static_cast<int32_t>(std::min<int64_t>(a.max_new_tokens, context - static_cast<int64_t>(prompt.size())));
    r.sampling = a.sampling;
    r.sampling.seed = a.sampling.seed + turn++;
    r.stop_ids = stop_ids;
    if (r.max_new_tokens < 1) {
      std::cerr << "tenet: error: the message is longer than the model's context of " << context << " tokens\n";
      history.erase(history.end() - 1);
      continue;
    }
    auto id = engine->Add(r);
    if (!id.ok()) return id.status();
    StreamDecoder stream(*tok, /*skip_special=*/true);
    std::vector<int32_t> answer;
    Engine::Sink sink = [&](const GenerationEvent& e) {
      if (e.kind == GenerationEvent::Kind::kToken) {
        auto text = stream.Push(e.token);
        if (text.ok()) std::cout << *text << std::flush;
      } else {
        answer = e.ids;
      }
    };
    while (true) {
      TENET_ASSIGN_OR_RETURN(bool more, engine->Step(sink));
      if (!more) break;
    }
    std::cout << stream.Flush() << "\n" << std::flush;
    history.push_back({{"role", "assistant"}, {"content", tok->Decode(answer, /*skip_special=*/true).value()}});
  }
  return Status::OK();
}
}  // namespace

RunFn AddChatCommand(CLI::App& sub) {
  auto a = std::make_shared<ChatArgs>();
  a->sampling.temperature = 0.7f;
  a->sampling.top_p = 0.9f;
  sub.add_option("--model", a->model, "HF model folder (e.g. merged/ after DPO)")->required();
  sub.add_option("--adapter", a->adapter, "PEFT LoRA adapter folder to apply on top of the model (unmerged)");
  sub.add_option("--system", a->system, "File whose content is the system message");
  sub.add_option("--max-new-tokens", a->max_new_tokens, "Tokens per answer at most")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  AddSamplingFlags(sub, &a->sampling);
  sub.add_option("--seed", a->sampling.seed, "Seed of the first answer (then +1 per turn)")->capture_default_str();
  sub.add_option("--tokenizer", a->tokenizer, "Tokenizer folder (default: the model folder)");
  AddRuntimeFlags(sub, &a->rt);
  sub.footer(R"(Type a message and press Enter; the answer streams as it is generated.
  /reset   forget the conversation     /exit   quit (so does end of input)

Examples:
  tenet chat --model merged/ --system examples/example-bank/values.md
  printf 'Hi\nWhat is an APR?\n' | tenet chat --model tiny/ --temperature 0 --max-new-tokens 32)");
  return [a]() {
    Status s = Run(*a);
    return s.ok() ? kExitOk : Fail(s);
  };
}

}  // namespace tenet::cli
