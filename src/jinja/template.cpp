// Template: the public face of the Jinja engine (lexer, parser, eval). See tenet/jinja/template.h.
#include "tenet/jinja/template.h"

#include "eval.h"
#include "parser.h"

namespace tenet::jinja {

struct Template::Impl {
  Body body;
};

Template::Template(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

Result<Template> Template::Parse(std::string_view source) {
  TENET_ASSIGN_OR_RETURN(Body body, ParseTemplate(source));
  auto impl = std::make_unique<Impl>();
  impl->body = std::move(body);
  return Template(std::move(impl));
}

Result<std::string> Template::Render(const nlohmann::json& context) const { return Render(context, RenderOptions()); }

Result<std::string> Template::Render(const nlohmann::json& context, const RenderOptions& options) const {
  EvalOptions eval_options;
  eval_options.max_output_bytes = options.max_output_bytes;
  eval_options.now = options.now;
  Evaluator evaluator(eval_options);
  return evaluator.Render(impl_->body, context);
}

}  // namespace tenet::jinja
