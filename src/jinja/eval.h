// Evaluator of the chat-template Jinja engine: walks a parsed template (ast.h) with a JSON
// context and produces the rendered text, with Jinja2's semantics for scoping (a for-loop body
// gets a fresh scope per iteration, `if` does not scope, macros see the template's top level),
// undefined values (print as "", falsy, error when used in arithmetic or attribute lookup) and
// loop variables.
//
// Hostile templates are bounded: output and every string built on the way by
// max_output_bytes, evaluation nesting (macro recursion included) by kMaxEvalDepth, total work
// by kMaxSteps, list sizes by kMaxListItems. Each limit is an InvalidArgument naming it.
//
// Thread-safety: one Evaluator per render; it never mutates the syntax tree, so many evaluators
// may share one parsed template.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "ast.h"
#include "value.h"
#include "tenet/util/status.h"

namespace tenet::jinja {

constexpr int kMaxEvalDepth = 400;
constexpr uint64_t kMaxSteps = uint64_t{10} * 1000 * 1000;  // ~100x a 10k-message chat
constexpr size_t kMaxListItems = size_t{1} << 20;

struct EvalOptions {
  size_t max_output_bytes = size_t{64} << 20;
  std::chrono::system_clock::time_point now;  // what strftime_now formats
};

class Evaluator {
 public:
  explicit Evaluator(EvalOptions options) : options_(options) {}

  Result<std::string> Render(const Body& body, const nlohmann::json& context);

  // For builtins (filters, methods, globals).
  const EvalOptions& options() const { return options_; }
  size_t limit() const { return options_.max_output_bytes; }
  // Counts `n` units of work; InvalidArgument once the budget is spent.
  Status Spend(uint64_t n, int line);
  // Calls a function value (a builtin, bound method or macro). InvalidArgument for non-callables.
  Result<Value> Call(const Value& fn, const CallArgs& args);

 private:
  struct Frame {
    std::unordered_map<std::string, Value> vars;
    Frame* parent = nullptr;
  };
  enum class Flow { kNormal, kBreak, kContinue };
  class DepthGuard;

  Status ExecBody(const Body& body, Frame& frame);
  Status ExecStmt(const Stmt& s, Frame& frame);
  Status ExecFor(const Stmt& s, Frame& frame);
  Status ExecSet(const Stmt& s, Frame& frame);
  Status Emit(const Value& v, int line);
  Result<std::string> Capture(const Body& body, Frame& frame);
  Result<Value> CallMacro(const Stmt& macro, const CallArgs& args);

  Result<Value> Eval(const Expr& e, Frame& frame);
  Result<Value> EvalInner(const Expr& e, Frame& frame);
  Result<CallArgs> EvalArgs(const Expr& e, size_t first, Frame& frame);
  Result<Value> EvalCall(const Expr& e, Frame& frame);
  Result<Value> EvalBinary(const std::string& op, const Value& a, const Value& b, int line);
  Result<Value> EvalCompare(const Expr& e, Frame& frame);
  Value Lookup(const std::string& name, const Frame& frame) const;

  EvalOptions options_;
  std::string out_;
  Frame* root_ = nullptr;  // the template's top-level scope, which macros see
  Flow flow_ = Flow::kNormal;
  int depth_ = 0;
  uint64_t steps_ = 0;
};

}  // namespace tenet::jinja
