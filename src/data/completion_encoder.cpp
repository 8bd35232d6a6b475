// Prompt/completion tokenization. See tenet/data/completion_encoder.h.
#include "tenet/data/completion_encoder.h"

namespace tenet {

namespace {
using json = nlohmann::json;

// A marker no template produces by itself.
constexpr const char* kSentinel = "\x01tenet-end-of-turn-probe\x01";

json TemplateContext(const Tokenizer& tok, const json& messages, bool add_generation_prompt) {
  return {{"messages", messages},
          {"add_generation_prompt", add_generation_prompt},
          {"bos_token", tok.config().bos_token},
          {"eos_token", tok.config().eos_token}};
}

// Renders a probe conversation ending in an assistant turn and returns the first special token
// the template emits after the assistant's content.
std::optional<int32_t> ProbeEndOfTurn(const Tokenizer& tok, const jinja::Template& tpl) {
  for (bool with_system : {false, true}) {
    json msgs = json::array();
    if (with_system) msgs.push_back({{"role", "system"}, {"content", "s"}});
    msgs.push_back({{"role", "user"}, {"content", "u"}});
    msgs.push_back({{"role", "assistant"}, {"content", kSentinel}});
    auto text = tpl.Render(TemplateContext(tok, msgs, false));
    if (!text.ok()) continue;
    auto pos = text->find(kSentinel);
    if (pos == std::string::npos) continue;
    auto ids = tok.Encode(std::string_view(*text).substr(pos + std::char_traits<char>::length(kSentinel)), true);
    if (!ids.ok()) continue;
    for (int32_t id : *ids)
      if (tok.IsSpecial(id)) return id;
    return std::nullopt;
  }
  return std::nullopt;
}
}  // namespace

Status ValidateMessages(const json& messages, const std::string& where) {
  if (!messages.is_array() || messages.empty()) return Status::InvalidArgument(where, "messages must be a non-empty array");
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string at = where + ": message " + std::to_string(i);
    if (!m.is_object()) return Status::InvalidArgument(at, "must be an object with role and content");
    if (!m.contains("role") || !m["role"].is_string()) return Status::InvalidArgument(at, "needs a string \"role\"");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      return Status::InvalidArgument(at, "unknown role \"" + role + "\" (system, user, assistant or tool)");
    }
    if (!m.contains("content") || !m["content"].is_string()) return Status::InvalidArgument(at, "needs a string \"content\"");
  }
  return Status::OK();
}

Result<std::unique_ptr<CompletionEncoder>> CompletionEncoder::Create(const Tokenizer& tokenizer) {
  std::unique_ptr<CompletionEncoder> e(new CompletionEncoder(tokenizer));
  const std::string& src = tokenizer.config().chat_template;
  if (!src.empty()) {
    auto tpl = jinja::Template::Parse(src);
    if (!tpl.ok()) return tpl.status().WithContext("tokenizer_config.json chat_template");
    e->template_.emplace(std::move(tpl).value());
    e->end_of_turn_ = ProbeEndOfTurn(tokenizer, *e->template_);
  }
  if (!e->end_of_turn_ && tokenizer.config().eos_id) e->end_of_turn_ = tokenizer.config().eos_id;
  return e;
}

Result<PromptCompletionIds> CompletionEncoder::EncodeText(std::string_view prompt, std::string_view completion) const {
  PromptCompletionIds out;
  const auto& cfg = tokenizer_.config();
  if (cfg.add_bos_token && cfg.bos_id) out.prompt.push_back(*cfg.bos_id);
  TENET_ASSIGN_OR_RETURN(auto p, tokenizer_.Encode(prompt, /*special=*/true));
  out.prompt.insert(out.prompt.end(), p.begin(), p.end());
  TENET_ASSIGN_OR_RETURN(out.completion, tokenizer_.Encode(completion, /*special=*/false));
  if (cfg.eos_id) out.completion.push_back(*cfg.eos_id);
  return out;
}

Result<std::string> CompletionEncoder::RenderPrompt(const json& messages) const {
  if (!template_) return Status::InvalidArgument("tokenizer", "has no chat_template; use {\"prompt\": str} records");
  TENET_RETURN_IF_ERROR(ValidateMessages(messages, "prompt"));
  return template_->Render(TemplateContext(tokenizer_, messages, true));
}

Result<std::vector<int32_t>> CompletionEncoder::EncodeChatPrompt(const json& messages) const {
  TENET_ASSIGN_OR_RETURN(std::string text, RenderPrompt(messages));
  return tokenizer_.Encode(text, /*special=*/true);
}

namespace {

// Python's str.strip() whitespace (what Jinja's trim filter removes).
std::string_view Strip(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// Marks the content of message i in a probe rendering; private-use characters, no whitespace.
std::string ContentMarker(size_t i) { return "\xEE\x80\x80" + std::to_string(i) + "\xEE\x80\x81"; }

}  // namespace

Result<std::vector<int32_t>> CompletionEncoder::EncodeChatPromptUntrusted(const json& messages) const {
  TENET_ASSIGN_OR_RETURN(std::string text, RenderPrompt(messages));
  // Where the template put each message's content: render again with markers for the contents,
  // then walk the real rendering literal piece by literal piece. A content appears as it is or
  // stripped (Llama 3's template trims it); anything else the template did to it is not located.
  json probe = messages;
  for (size_t i = 0; i < probe.size(); ++i) probe[i]["content"] = ContentMarker(i);
  std::vector<std::pair<size_t, size_t>> plain;
  bool located = false;
  if (auto marked = template_->Render(TemplateContext(tokenizer_, probe, true)); marked.ok()) {
    located = true;
    size_t at = 0, pos = 0;  // in the marked and in the real rendering
    while (located) {
      // The next marker in the marked text (the lowest position of any message's marker).
      size_t next = std::string::npos, which = 0;
      for (size_t i = 0; i < messages.size(); ++i) {
        const size_t f = marked->find(ContentMarker(i), at);
        if (f < next) next = f, which = i;
      }
      const std::string_view literal = std::string_view(*marked).substr(at, next == std::string::npos ? std::string::npos : next - at);
      if (text.compare(pos, literal.size(), literal) != 0) {
        located = false;
        break;
      }
      pos += literal.size();
      if (next == std::string::npos) {
        located = pos == text.size();
        break;
      }
      at = next + ContentMarker(which).size();
      // The literal after this content, to check a candidate against.
      size_t after = std::string::npos;
      for (size_t i = 0; i < messages.size(); ++i) after = std::min(after, marked->find(ContentMarker(i), at));
      const std::string_view follow = std::string_view(*marked).substr(at, after == std::string::npos ? std::string::npos : after - at);
      const std::string& content = messages[which]["content"].get_ref<const std::string&>();
      bool matched = false;
      for (std::string_view c : {std::string_view(content), Strip(content)}) {
        if (text.compare(pos, c.size(), c) == 0 && text.compare(pos + c.size(), follow.size(), follow) == 0 &&
            (after != std::string::npos || pos + c.size() + follow.size() == text.size())) {
          if (!c.empty()) plain.emplace_back(pos, pos + c.size());
          pos += c.size();
          matched = true;
          break;
        }
      }
      located = matched;
    }
  }
  if (located) return tokenizer_.Encode(text, plain);
  // The template transforms contents in a way not located: refuse contents that hold control-token
  // text rather than let it through as control tokens.
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& content = messages[i]["content"].get_ref<const std::string&>();
    TENET_ASSIGN_OR_RETURN(auto with, tokenizer_.Encode(content, /*special=*/true));
    TENET_ASSIGN_OR_RETURN(auto without, tokenizer_.Encode(content, /*special=*/false));
    if (with != without) {
      return Status::InvalidArgument("messages[" + std::to_string(i) + "].content",
                                     "holds special-token text, which this chat template does not let Tenet keep as plain text");
    }
  }
  return tokenizer_.Encode(text, /*special=*/true);
}

Result<PromptCompletionIds> CompletionEncoder::EncodeChat(const json& messages, std::string_view completion) const {
  PromptCompletionIds out;
  TENET_ASSIGN_OR_RETURN(out.prompt, EncodeChatPrompt(messages));
  TENET_ASSIGN_OR_RETURN(out.completion, tokenizer_.Encode(completion, /*special=*/false));
  if (end_of_turn_) out.completion.push_back(*end_of_turn_);
  return out;
}

Result<PromptCompletionIds> EncodeRecord(const CompletionEncoder& encoder, const json& r) {
  if (!r.is_object()) return Status::InvalidArgument("record", "must be a JSON object");
  // completion: a string, or TRL conversational [{"role": "assistant", "content": str}].
  if (!r.contains("completion")) return Status::InvalidArgument("record", "missing \"completion\"");
  std::string completion;
  const json& c = r["completion"];
  if (c.is_string()) {
    completion = c.get<std::string>();
  } else if (c.is_array() && c.size() == 1 && c[0].is_object() && c[0].value("role", "") == "assistant" &&
             c[0].contains("content") && c[0]["content"].is_string()) {
    completion = c[0]["content"].get<std::string>();
  } else {
    return Status::InvalidArgument("record", "\"completion\" must be a string or [{\"role\": \"assistant\", \"content\": str}]");
  }
  if (r.contains("messages")) return encoder.EncodeChat(r["messages"], completion);
  if (!r.contains("prompt")) return Status::InvalidArgument("record", "needs \"prompt\" or \"messages\"");
  const json& p = r["prompt"];
  if (p.is_array()) return encoder.EncodeChat(p, completion);
  if (!p.is_string()) return Status::InvalidArgument("record", "\"prompt\" must be a string or a list of messages");
  return encoder.EncodeText(p.get<std::string>(), completion);
}

}  // namespace tenet
