// ChatTemplate: the public face of the Jinja subset (jinja_lexer/parser/eval). See
// tenet/tokenizer/chat_template.h.
#include "tenet/tokenizer/chat_template.h"

#include "jinja_eval.h"
#include "jinja_parser.h"

namespace tenet {

struct ChatTemplate::Impl {
  jinja::Body body;
};

ChatTemplate::ChatTemplate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

Result<ChatTemplate> ChatTemplate::Parse(std::string_view source) {
  TENET_ASSIGN_OR_RETURN(jinja::Body body, jinja::ParseTemplate(source));
  auto impl = std::make_unique<Impl>();
  impl->body = std::move(body);
  return ChatTemplate(std::move(impl));
}

Result<std::string> ChatTemplate::Render(const nlohmann::json& context) const { return Render(context, RenderOptions()); }

Result<std::string> ChatTemplate::Render(const nlohmann::json& context, const RenderOptions& options) const {
  jinja::EvalOptions eval_options;
  eval_options.max_output_bytes = options.max_output_bytes;
  eval_options.now = options.now;
  jinja::Evaluator evaluator(eval_options);
  return evaluator.Render(impl_->body, context);
}

}  // namespace tenet
