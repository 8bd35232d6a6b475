// `tenet tokenize` and `tenet detokenize`: text <-> token ids with a tokenizer.json, one JSON value
// per line so that both compose with other JSONL tools.
//
// Not for: chat formatting (`tenet template`) or batch dataset preparation (the data pipeline calls
// the Tokenizer directly).
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tenet/cli/commands.h"
#include "tenet/tokenizer/tokenizer.h"

namespace tenet::cli {

namespace {

using nlohmann::json;

// Non-UTF-8 cannot occur (Decode is lossy, vocabulary strings come from JSON), but a dump must
// never throw out of a command.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Reads stdin line by line, calling `handle(line_number, line)`; stops at the first error and
// returns it prefixed with "line N".
template <typename Handle>
Status ForEachLine(const Handle& handle) {
  std::string line;
  for (size_t n = 1; std::getline(std::cin, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    Status s = handle(line);
    if (!s.ok()) return s.WithContext("line " + std::to_string(n));
  }
  return Status::OK();
}

struct TokenizeArgs {
  std::string tokenizer_dir;
  std::optional<std::string> text;
  bool special = true;
  bool add_bos = false;
  bool tokens = false;
};

Result<std::string> TokenizeOne(const Tokenizer& tokenizer, const TokenizeArgs& args, std::string_view text) {
  std::vector<int32_t> ids;
  if (args.add_bos) {
    if (!tokenizer.config().bos_id) return Status::InvalidArgument("--add-bos", "the tokenizer has no BOS token");
    ids.push_back(*tokenizer.config().bos_id);
  }
  TENET_ASSIGN_OR_RETURN(std::vector<int32_t> body, tokenizer.Encode(text, args.special));
  ids.insert(ids.end(), body.begin(), body.end());
  if (!args.tokens) return Dump(json(ids));
  json tokens = json::array();
  for (int32_t id : ids) tokens.push_back(tokenizer.IdToToken(id));
  return Dump(json{{"ids", ids}, {"tokens", tokens}});
}

int RunTokenize(const TokenizeArgs& args) {
  auto tokenizer = Tokenizer::Load(args.tokenizer_dir);
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  if (args.text) {
    auto out = TokenizeOne(**tokenizer, args, *args.text);
    if (!out.ok()) return Fail(out.status());
    std::cout << *out << "\n";
    return kExitOk;
  }
  Status s = ForEachLine([&](const std::string& line) -> Status {
    json value = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || !value.is_string()) return Status::InvalidArgument("expected a JSON string");
    TENET_ASSIGN_OR_RETURN(std::string out, TokenizeOne(**tokenizer, args, value.get_ref<const std::string&>()));
    std::cout << out << "\n";
    return Status::OK();
  });
  std::cout.flush();
  return s.ok() ? kExitOk : Fail(s);
}

struct DetokenizeArgs {
  std::string tokenizer_dir;
  std::optional<std::string> ids;
  bool skip_special = false;
};

Result<std::string> DetokenizeOne(const Tokenizer& tokenizer, const DetokenizeArgs& args, const std::string& text) {
  json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_array()) return Status::InvalidArgument("expected a JSON array of ids");
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (const json& v : value) {
    if (!v.is_number_integer()) return Status::InvalidArgument("expected a JSON array of integer ids");
    const int64_t id = v.get<int64_t>();
    if (id < 0 || id >= tokenizer.vocab_size()) {
      return Status::InvalidArgument("id " + std::to_string(id), "outside [0, " + std::to_string(tokenizer.vocab_size()) + ")");
    }
    ids.push_back(static_cast<int32_t>(id));
  }
  TENET_ASSIGN_OR_RETURN(std::string decoded, tokenizer.Decode(ids, args.skip_special));
  return Dump(json(decoded));
}

int RunDetokenize(const DetokenizeArgs& args) {
  auto tokenizer = Tokenizer::Load(args.tokenizer_dir);
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  if (args.ids) {
    auto out = DetokenizeOne(**tokenizer, args, *args.ids);
    if (!out.ok()) return Fail(out.status().WithContext("--ids"));
    std::cout << *out << "\n";
    return kExitOk;
  }
  Status s = ForEachLine([&](const std::string& line) -> Status {
    TENET_ASSIGN_OR_RETURN(std::string out, DetokenizeOne(**tokenizer, args, line));
    std::cout << out << "\n";
    return Status::OK();
  });
  std::cout.flush();
  return s.ok() ? kExitOk : Fail(s);
}

}  // namespace

RunFn AddTokenizeCommand(CLI::App& sub) {
  auto args = std::make_shared<TokenizeArgs>();
  sub.add_option("--tokenizer", args->tokenizer_dir, "Folder with tokenizer.json (and tokenizer_config.json)")
      ->required();
  sub.add_option("--text", args->text, "Text to tokenize; without it, read JSON strings from stdin, one per line");
  sub.add_flag("--special,!--no-special", args->special,
               "Turn special-token text like <|eot_id|> into its id (default) or, with --no-special, encode it as "
               "plain text");
  sub.add_flag("--add-bos", args->add_bos, "Prepend the tokenizer's BOS token id");
  sub.add_flag("--tokens", args->tokens, "Print {\"ids\": [...], \"tokens\": [...]} with the vocabulary strings");
  sub.footer(
      "Output: one JSON array of ids per input (with --tokens, one object).\n"
      "Examples:\n"
      "  tenet tokenize --tokenizer models/llama3 --text \"What's the APR on my card?\"\n"
      "  tenet tokenize --tokenizer models/llama3 --add-bos --tokens --text 'Hello<|eot_id|>'\n"
      "  printf '\"first line\"\\n\"second\\\\nline\"\\n' | tenet tokenize --tokenizer models/llama3 --no-special\n");
  return [args] { return RunTokenize(*args); };
}

RunFn AddDetokenizeCommand(CLI::App& sub) {
  auto args = std::make_shared<DetokenizeArgs>();
  sub.add_option("--tokenizer", args->tokenizer_dir, "Folder with tokenizer.json (and tokenizer_config.json)")
      ->required();
  sub.add_option("--ids", args->ids, "A JSON array of ids; without it, read one array per line from stdin");
  sub.add_flag("--skip-special", args->skip_special, "Drop special tokens such as <|eot_id|>");
  sub.footer(
      "Output: one JSON string per input. Bytes that do not form valid UTF-8 become U+FFFD.\n"
      "Examples:\n"
      "  tenet detokenize --tokenizer models/llama3 --ids '[3923, 596, 279, 53526]'\n"
      "  tenet tokenize --tokenizer models/llama3 < prompts.jsonl | tenet detokenize --tokenizer models/llama3\n");
  return [args] { return RunDetokenize(*args); };
}

}  // namespace tenet::cli
