// `tenet template`: renders a tokenizer's chat template (tokenizer_config.json's chat_template, or
// --template FILE) over messages read from stdin, as transformers' apply_chat_template does, and
// prints the prompt text, or with --json the text and its token ids.
//
// Not for: batch dataset formatting (the data pipeline renders templates itself) or generation.
#include <CLI/CLI.hpp>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "tenet/cli/commands.h"
#include "tenet/jinja/template.h"
#include "tenet/tokenizer/tokenizer.h"
#include "tenet/util/file.h"

namespace tenet::cli {

namespace {

struct TemplateArgs {
  std::string tokenizer_dir;
  std::string template_file;
  std::string out;
  bool no_generation_prompt = false;
  bool json = false;
};

// stdin is a JSON array of messages, or an object {"messages": [...], ...extra context}.
Result<nlohmann::json> ReadContext(std::istream& in) {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  nlohmann::json input = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) return Status::InvalidArgument("stdin", "not valid JSON");
  if (input.is_array()) return nlohmann::json{{"messages", std::move(input)}};
  if (!input.is_object()) return Status::InvalidArgument("stdin", "expected a JSON array of messages or an object");
  if (!input.contains("messages") || !input["messages"].is_array()) {
    return Status::InvalidArgument("stdin", "object must have a \"messages\" array");
  }
  return input;
}

Result<std::string> Run(const TemplateArgs& args) {
  if (args.tokenizer_dir.empty() && args.template_file.empty()) {
    return Status::InvalidArgument("--tokenizer", "required (or give --template FILE)");
  }
  if (args.json && args.tokenizer_dir.empty()) return Status::InvalidArgument("--json", "needs --tokenizer for the ids");
  std::unique_ptr<Tokenizer> tokenizer;
  if (!args.tokenizer_dir.empty()) {
    TENET_ASSIGN_OR_RETURN(tokenizer, Tokenizer::Load(args.tokenizer_dir));
  }
  std::string source;
  if (!args.template_file.empty()) {
    TENET_ASSIGN_OR_RETURN(source, ReadFile(args.template_file));
  } else {
    source = tokenizer->config().chat_template;
    if (source.empty()) {
      return Status::InvalidArgument(JoinPath(args.tokenizer_dir, "tokenizer_config.json"),
                                     "has no chat_template; pass --template FILE");
    }
  }
  auto parsed = jinja::Template::Parse(source);
  if (!parsed.ok()) {
    return parsed.status().WithContext(args.template_file.empty() ? args.tokenizer_dir : args.template_file);
  }
  TENET_ASSIGN_OR_RETURN(nlohmann::json input, ReadContext(std::cin));
  // transformers passes the special tokens first and lets the caller's keys override them.
  nlohmann::json context = nlohmann::json::object();
  if (tokenizer) {
    context["bos_token"] = tokenizer->config().bos_token;
    context["eos_token"] = tokenizer->config().eos_token;
  }
  context["add_generation_prompt"] = true;
  context.update(input);
  if (args.no_generation_prompt) context["add_generation_prompt"] = false;
  TENET_ASSIGN_OR_RETURN(std::string text, parsed->Render(context));
  if (!args.json) return text;
  // The template already holds BOS and friends, so no special tokens are added (transformers
  // tokenizes chat templates with add_special_tokens=False).
  TENET_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer->Encode(text, /*special=*/true));
  return nlohmann::json{{"text", text}, {"ids", ids}}.dump() + "\n";
}

}  // namespace

RunFn AddTemplateCommand(CLI::App& sub) {
  auto args = std::make_shared<TemplateArgs>();
  sub.add_option("--tokenizer", args->tokenizer_dir,
                 "Folder with tokenizer.json and tokenizer_config.json (chat_template, bos/eos tokens)");
  sub.add_option("--template", args->template_file, "Jinja chat template file overriding the tokenizer's");
  sub.add_flag("--no-generation-prompt", args->no_generation_prompt,
               "Render with add_generation_prompt=false (default true: end with the assistant header)");
  sub.add_flag("--json", args->json, "Print {\"text\": ..., \"ids\": [...]} (ids from --tokenizer, no BOS added)");
  sub.add_option("--out", args->out, "Write to this file instead of stdout");
  sub.footer(R"(stdin: a JSON array of messages, or {"messages": [...], ...} whose other keys (tools,
date_string, bos_token, ...) join the template's context and override the tokenizer's.

Examples:
  echo '[{"role":"user","content":"Hi"}]' | tenet template --tokenizer llama3/
  tenet template --tokenizer llama3/ --no-generation-prompt < chat.json
  tenet template --tokenizer llama3/ --json < chat.json        # {"text": ..., "ids": [...]}
  tenet template --template chatml.jinja < chat.json            # no tokenizer: bos/eos unset
  echo '{"messages":[{"role":"user","content":"Hi"}],"date_string":"01 Jan 2025"}' \
    | tenet template --tokenizer llama3.1/)");
  return [args]() {
    auto text = Run(*args);
    if (!text.ok()) return Fail(text.status());
    Status s = WriteOutput(args->out, *text);
    return s.ok() ? kExitOk : Fail(s);
  };
}

}  // namespace tenet::cli
