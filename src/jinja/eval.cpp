// Tree-walking evaluator for the Jinja subset. See eval.h.
#include "eval.h"

#include <cmath>

#include "builtins.h"
#include "text.h"

namespace tenet::jinja {

// Bounds recursion through statements, expressions and macro calls together.
class Evaluator::DepthGuard {
 public:
  explicit DepthGuard(Evaluator* ev) : ev_(ev) { ++ev_->depth_; }
  ~DepthGuard() { --ev_->depth_; }
  Status Check(int line) const {
    if (ev_->depth_ <= kMaxEvalDepth) return Status::OK();
    return Status::InvalidArgument(Where(line), "recursion deeper than " + std::to_string(kMaxEvalDepth) +
                                                    " levels (macro recursing without end?)");
  }

 private:
  Evaluator* ev_;
};

Result<std::string> Evaluator::Render(const Body& body, const nlohmann::json& context) {
  Frame globals;
  AddGlobals(&globals.vars);
  if (!context.is_null() && !context.is_object()) {
    return Status::InvalidArgument("chat template context", "must be a JSON object");
  }
  if (context.is_object()) {
    for (auto it = context.begin(); it != context.end(); ++it) {
      auto v = Value::FromJson(it.value());
      if (!v.ok()) return v.status().WithContext("context key '" + it.key() + "'");
      globals.vars[it.key()] = std::move(v).value();
    }
  }
  Frame top;
  top.parent = &globals;
  root_ = &top;
  out_.clear();
  TENET_RETURN_IF_ERROR(ExecBody(body, top));
  return std::move(out_);
}

Status Evaluator::Spend(uint64_t n, int line) {
  steps_ += n;
  if (steps_ <= kMaxSteps) return Status::OK();
  return Status::InvalidArgument(Where(line), "template exceeded " + std::to_string(kMaxSteps) + " evaluation steps");
}

Status Evaluator::ExecBody(const Body& body, Frame& frame) {
  for (const StmtPtr& s : body) {
    TENET_RETURN_IF_ERROR(ExecStmt(*s, frame));
    if (flow_ != Flow::kNormal) break;
  }
  return Status::OK();
}

Status Evaluator::Emit(const Value& v, int line) {
  Status s = AppendStr(&out_, v, limit());
  return s.ok() ? s : s.WithContext(Where(line));
}

Result<std::string> Evaluator::Capture(const Body& body, Frame& frame) {
  std::string saved;
  saved.swap(out_);
  Status s = ExecBody(body, frame);
  std::string captured;
  captured.swap(out_);
  out_.swap(saved);
  if (!s.ok()) return s;
  return captured;
}

Status Evaluator::ExecStmt(const Stmt& s, Frame& frame) {
  DepthGuard guard(this);
  TENET_RETURN_IF_ERROR(guard.Check(s.line));
  TENET_RETURN_IF_ERROR(Spend(1, s.line));
  switch (s.kind) {
    case Stmt::Kind::kData:
      out_ += s.text;
      if (out_.size() > limit()) {
        return Status::InvalidArgument(Where(s.line), "output exceeds " + std::to_string(limit()) + " bytes");
      }
      return Status::OK();
    case Stmt::Kind::kPrint: {
      TENET_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, frame));
      return Emit(v, s.line);
    }
    case Stmt::Kind::kIf:
      for (const IfBranch& b : s.branches) {
        TENET_ASSIGN_OR_RETURN(Value cond, Eval(*b.condition, frame));
        if (Truthy(cond)) return ExecBody(b.body, frame);
      }
      return ExecBody(s.else_body, frame);
    case Stmt::Kind::kFor: return ExecFor(s, frame);
    case Stmt::Kind::kSet: return ExecSet(s, frame);
    case Stmt::Kind::kSetBlock: {
      TENET_ASSIGN_OR_RETURN(std::string text, Capture(s.body, frame));
      frame.vars[s.text] = Value::String(std::move(text));
      return Status::OK();
    }
    case Stmt::Kind::kMacro: {
      const Stmt* macro = &s;
      frame.vars[s.text] = Value::Func(s.text, [macro](Evaluator& ev, const CallArgs& args) {
        return ev.CallMacro(*macro, args);
      });
      return Status::OK();
    }
    case Stmt::Kind::kBreak: flow_ = Flow::kBreak; return Status::OK();
    case Stmt::Kind::kContinue: flow_ = Flow::kContinue; return Status::OK();
    case Stmt::Kind::kGeneration: return ExecBody(s.body, frame);
  }
  return Status::Internal(Where(s.line), "unknown statement");
}

Status Evaluator::ExecSet(const Stmt& s, Frame& frame) {
  TENET_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, frame));
  if (!s.attr.empty()) {
    Value target = Lookup(s.targets[0], frame);
    if (!target.is_dict() || !target.dict().is_namespace) {
      return Status::InvalidArgument(Where(s.line), "cannot assign attribute on non-namespace object '" +
                                                        s.targets[0] + "'");
    }
    // Walked now, not read off the recorded depth: a namespace inside v may have been filled since
    // v was built, and v must not hold the target itself (a cycle that printing, comparing and
    // freeing would follow forever).
    const int depth = CurrentDepth(v, &target.dict(), kMaxValueDepth);
    if (depth < 0) {
      return Status::InvalidArgument(Where(s.line), "cannot assign to '" + s.targets[0] + "." + s.attr + "' a value that contains '" +
                                                        s.targets[0] + "' itself");
    }
    if (depth + 1 > kMaxValueDepth) return Status::InvalidArgument(Where(s.line), "value nested too deeply");
    target.mutable_namespace().Set(s.attr, std::move(v));
    return Status::OK();
  }
  if (s.targets.size() == 1) {
    frame.vars[s.targets[0]] = std::move(v);
    return Status::OK();
  }
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(v, s.line));
  if (items.size() != s.targets.size()) {
    return Status::InvalidArgument(Where(s.line), "cannot unpack " + std::to_string(items.size()) + " values into " +
                                                      std::to_string(s.targets.size()) + " names");
  }
  for (size_t i = 0; i < items.size(); ++i) frame.vars[s.targets[i]] = items[i];
  return Status::OK();
}

Status Evaluator::ExecFor(const Stmt& s, Frame& frame) {
  TENET_ASSIGN_OR_RETURN(Value iterable, Eval(*s.expr, frame));
  if (iterable.is_none()) return Status::InvalidArgument(Where(s.line), "'NoneType' object is not iterable");
  TENET_ASSIGN_OR_RETURN(std::vector<Value> all, Iterate(iterable, s.line));
  auto bind = [&](Frame& f, const Value& item) -> Status {
    if (s.targets.size() == 1) {
      f.vars[s.targets[0]] = item;
      return Status::OK();
    }
    TENET_ASSIGN_OR_RETURN(std::vector<Value> parts, Iterate(item, s.line));
    if (parts.size() != s.targets.size()) {
      return Status::InvalidArgument(Where(s.line), "cannot unpack " + std::to_string(parts.size()) +
                                                        " values into " + std::to_string(s.targets.size()) + " loop variables");
    }
    for (size_t i = 0; i < parts.size(); ++i) f.vars[s.targets[i]] = parts[i];
    return Status::OK();
  };
  // Jinja2 filters before looping, so loop.length and loop.last count only kept items.
  std::vector<Value> items;
  if (s.filter) {
    for (const Value& item : all) {
      TENET_RETURN_IF_ERROR(Spend(1, s.line));
      Frame f;
      f.parent = &frame;
      TENET_RETURN_IF_ERROR(bind(f, item));
      TENET_ASSIGN_OR_RETURN(Value keep, Eval(*s.filter, f));
      if (Truthy(keep)) items.push_back(item);
    }
  } else {
    items = std::move(all);
  }
  if (items.empty()) {
    Frame f;
    f.parent = &frame;
    return ExecBody(s.else_body, f);
  }
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    TENET_RETURN_IF_ERROR(Spend(1, s.line));
    Frame f;  // fresh per iteration: sets inside the body do not survive it, as in Jinja2
    f.parent = &frame;
    TENET_RETURN_IF_ERROR(bind(f, items[static_cast<size_t>(i)]));
    if (!s.uses_loop) {
      TENET_RETURN_IF_ERROR(ExecBody(s.body, f));
      if (flow_ == Flow::kBreak) {
        flow_ = Flow::kNormal;
        break;
      }
      flow_ = Flow::kNormal;
      continue;
    }
    auto loop = std::make_shared<DictData>();
    loop->Set("index", Value::Int(i + 1));
    loop->Set("index0", Value::Int(i));
    loop->Set("revindex", Value::Int(n - i));
    loop->Set("revindex0", Value::Int(n - i - 1));
    loop->Set("first", Value::Bool(i == 0));
    loop->Set("last", Value::Bool(i == n - 1));
    loop->Set("length", Value::Int(n));
    loop->Set("depth", Value::Int(1));
    loop->Set("depth0", Value::Int(0));
    if (i > 0) loop->Set("previtem", items[static_cast<size_t>(i - 1)]);
    if (i + 1 < n) loop->Set("nextitem", items[static_cast<size_t>(i + 1)]);
    loop->Set("cycle", Value::Func("loop.cycle", [i](Evaluator&, const CallArgs& args) -> Result<Value> {
      if (args.positional.empty()) return Status::InvalidArgument(Where(args.line), "no items for loop.cycle()");
      return args.positional[static_cast<size_t>(i) % args.positional.size()];
    }));
    TENET_ASSIGN_OR_RETURN(f.vars["loop"], Value::Dict(std::move(loop)));
    TENET_RETURN_IF_ERROR(ExecBody(s.body, f));
    if (flow_ == Flow::kBreak) {
      flow_ = Flow::kNormal;
      break;
    }
    flow_ = Flow::kNormal;
  }
  return Status::OK();
}

Result<Value> Evaluator::CallMacro(const Stmt& macro, const CallArgs& args) {
  DepthGuard guard(this);
  TENET_RETURN_IF_ERROR(guard.Check(args.line));
  if (args.positional.size() > macro.params.size()) {
    return Status::InvalidArgument(Where(args.line), "macro '" + macro.text + "' takes " +
                                                         std::to_string(macro.params.size()) + " arguments");
  }
  Frame f;
  f.parent = root_;
  for (size_t i = 0; i < macro.params.size(); ++i) {
    const MacroParam& p = macro.params[i];
    const Value* given = i < args.positional.size() ? &args.positional[i] : nullptr;
    for (const auto& [k, v] : args.keywords)
      if (k == p.name) given = &v;
    if (given != nullptr) {
      f.vars[p.name] = *given;
    } else if (p.default_value) {
      TENET_ASSIGN_OR_RETURN(f.vars[p.name], Eval(*p.default_value, f));
    } else {
      f.vars[p.name] = Value::Undefined("parameter '" + p.name + "' was not provided");
    }
  }
  for (const auto& [k, v] : args.keywords) {
    bool known = false;
    for (const MacroParam& p : macro.params) known = known || p.name == k;
    if (!known) {
      return Status::InvalidArgument(Where(args.line), "macro '" + macro.text + "' has no argument named '" + k + "'");
    }
  }
  Flow saved = flow_;
  flow_ = Flow::kNormal;
  auto text = Capture(macro.body, f);
  flow_ = saved;
  if (!text.ok()) return text.status();
  return Value::String(std::move(text).value());
}

Result<Value> Evaluator::Call(const Value& fn, const CallArgs& args) {
  if (fn.is_undefined()) return UndefinedError(fn, args.line);
  if (!fn.is_function()) {
    return Status::InvalidArgument(Where(args.line), Quoted(TypeName(fn), "' object is not callable"));
  }
  return fn.function().call(*this, args);
}

Value Evaluator::Lookup(const std::string& name, const Frame& frame) const {
  for (const Frame* f = &frame; f != nullptr; f = f->parent) {
    auto it = f->vars.find(name);
    if (it != f->vars.end()) return it->second;
  }
  return Value::Undefined(Quoted(name, "' is undefined"));
}

Result<Value> Evaluator::Eval(const Expr& e, Frame& frame) {
  DepthGuard guard(this);
  TENET_RETURN_IF_ERROR(guard.Check(e.line));
  return EvalInner(e, frame);
}

Result<CallArgs> Evaluator::EvalArgs(const Expr& e, size_t first, Frame& frame) {
  CallArgs args;
  args.line = e.line;
  for (size_t i = first; i < e.args.size(); ++i) {
    TENET_ASSIGN_OR_RETURN(Value v, Eval(*e.args[i], frame));
    args.positional.push_back(std::move(v));
  }
  for (const auto& [k, x] : e.kwargs) {
    TENET_ASSIGN_OR_RETURN(Value v, Eval(*x, frame));
    args.keywords.emplace_back(k, std::move(v));
  }
  return args;
}

Result<Value> Evaluator::EvalCall(const Expr& e, Frame& frame) {
  const Expr& callee = *e.args[0];
  Value fn;
  if (callee.kind == Expr::Kind::kGetAttr) {
    TENET_ASSIGN_OR_RETURN(Value obj, Eval(*callee.args[0], frame));
    TENET_ASSIGN_OR_RETURN(fn, GetAttribute(obj, callee.name, callee.line));
    if (fn.is_undefined() && IsUnsupportedMethod(obj, callee.name)) {
      return Status::Unimplemented(Where(e.line), "unsupported method '" + TypeName(obj) + "." + callee.name + "'");
    }
  } else {
    TENET_ASSIGN_OR_RETURN(fn, Eval(callee, frame));
    if (fn.is_undefined() && callee.kind == Expr::Kind::kName &&
        (callee.name == "cycler" || callee.name == "joiner" || callee.name == "lipsum")) {
      return Status::Unimplemented(Where(e.line), "unsupported function '" + callee.name + "'");
    }
  }
  TENET_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1, frame));
  return Call(fn, args);
}

Result<Value> Evaluator::EvalInner(const Expr& e, Frame& frame) {
  switch (e.kind) {
    case Expr::Kind::kLiteral: return e.value;
    case Expr::Kind::kName: return Lookup(e.name, frame);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple: {
      std::vector<Value> items;
      for (const ExprPtr& x : e.args) {
        TENET_ASSIGN_OR_RETURN(Value v, Eval(*x, frame));
        items.push_back(std::move(v));
      }
      auto list = Value::List(std::move(items), e.kind == Expr::Kind::kTuple);
      if (!list.ok()) return list.status().WithContext(Where(e.line));
      return list;
    }
    case Expr::Kind::kDict: {
      auto data = std::make_shared<DictData>();
      for (const auto& [k, x] : e.dict_items) {
        TENET_ASSIGN_OR_RETURN(Value key, Eval(*k, frame));
        if (!key.is_string()) return Status::Unimplemented(Where(e.line), "dict keys other than strings");
        TENET_ASSIGN_OR_RETURN(Value v, Eval(*x, frame));
        data->Set(key.str(), std::move(v));
      }
      auto dict = Value::Dict(std::move(data));
      if (!dict.ok()) return dict.status().WithContext(Where(e.line));
      return dict;
    }
    case Expr::Kind::kGetAttr: {
      TENET_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0], frame));
      return GetAttribute(obj, e.name, e.line);
    }
    case Expr::Kind::kGetItem: {
      TENET_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0], frame));
      TENET_ASSIGN_OR_RETURN(Value key, Eval(*e.args[1], frame));
      return GetItem(obj, key, e.line);
    }
    case Expr::Kind::kSlice: {
      TENET_ASSIGN_OR_RETURN(Value obj, Eval(*e.args[0], frame));
      Value parts[3];
      for (int i = 0; i < 3; ++i) {
        if (e.args[static_cast<size_t>(i) + 1]) {
          TENET_ASSIGN_OR_RETURN(parts[i], Eval(*e.args[static_cast<size_t>(i) + 1], frame));
        }
      }
      return GetSlice(obj, e.args[1] ? &parts[0] : nullptr, e.args[2] ? &parts[1] : nullptr,
                      e.args[3] ? &parts[2] : nullptr, e.line);
    }
    case Expr::Kind::kCall: return EvalCall(e, frame);
    case Expr::Kind::kFilter: {
      TENET_ASSIGN_OR_RETURN(Value input, Eval(*e.args[0], frame));
      TENET_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1, frame));
      return ApplyFilter(*this, e.name, input, args);
    }
    case Expr::Kind::kTest: {
      TENET_ASSIGN_OR_RETURN(Value input, Eval(*e.args[0], frame));
      TENET_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, 1, frame));
      TENET_ASSIGN_OR_RETURN(bool r, ApplyTest(*this, e.name, input, args));
      return Value::Bool(r != e.negated);
    }
    case Expr::Kind::kUnary: {
      TENET_ASSIGN_OR_RETURN(Value v, Eval(*e.args[0], frame));
      if (e.name == "not") return Value::Bool(!Truthy(v));
      if (v.is_undefined()) return UndefinedError(v, e.line);
      if (!v.is_number()) {
        return Status::InvalidArgument(Where(e.line), "bad operand type for unary " + e.name + ": '" + TypeName(v) + "'");
      }
      if (e.name == "+") return v.kind() == Value::Kind::kBool ? Value::Int(v.int_value()) : v;
      if (v.kind() == Value::Kind::kFloat) return Value::Float(-v.float_value());
      if (v.int_value() == INT64_MIN) return Status::InvalidArgument(Where(e.line), "integer overflow");
      return Value::Int(-v.int_value());
    }
    case Expr::Kind::kBinary: {
      TENET_ASSIGN_OR_RETURN(Value a, Eval(*e.args[0], frame));
      TENET_ASSIGN_OR_RETURN(Value b, Eval(*e.args[1], frame));
      return EvalBinary(e.name, a, b, e.line);
    }
    case Expr::Kind::kAnd: {  // Python returns the deciding operand, not a bool
      TENET_ASSIGN_OR_RETURN(Value a, Eval(*e.args[0], frame));
      if (!Truthy(a)) return a;
      return Eval(*e.args[1], frame);
    }
    case Expr::Kind::kOr: {
      TENET_ASSIGN_OR_RETURN(Value a, Eval(*e.args[0], frame));
      if (Truthy(a)) return a;
      return Eval(*e.args[1], frame);
    }
    case Expr::Kind::kCompare: return EvalCompare(e, frame);
    case Expr::Kind::kCondition: {
      TENET_ASSIGN_OR_RETURN(Value cond, Eval(*e.args[1], frame));
      if (Truthy(cond)) return Eval(*e.args[0], frame);
      if (e.args[2]) return Eval(*e.args[2], frame);
      return Value::Undefined("the inline if-expression evaluated to false and no else section was defined");
    }
  }
  return Status::Internal(Where(e.line), "unknown expression");
}

Result<Value> Evaluator::EvalCompare(const Expr& e, Frame& frame) {
  TENET_ASSIGN_OR_RETURN(Value left, Eval(*e.args[0], frame));
  for (size_t i = 0; i < e.ops.size(); ++i) {
    TENET_ASSIGN_OR_RETURN(Value right, Eval(*e.args[i + 1], frame));
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") {
      r = Equals(left, right);
    } else if (op == "!=") {
      r = !Equals(left, right);
    } else if (op == "in" || op == "not in") {
      TENET_ASSIGN_OR_RETURN(bool in, Contains(right, left, e.line));
      r = (op == "in") == in;
    } else {
      if (left.is_undefined()) return UndefinedError(left, e.line);
      if (right.is_undefined()) return UndefinedError(right, e.line);
      auto c = Compare(left, right);
      if (!c.ok()) return c.status().WithContext(Where(e.line));
      r = op == "<" ? *c < 0 : op == "<=" ? *c <= 0 : op == ">" ? *c > 0 : *c >= 0;
    }
    if (!r) return Value::Bool(false);
    left = std::move(right);
  }
  return Value::Bool(true);
}

namespace {

Status TypeError(const std::string& op, const Value& a, const Value& b, int line) {
  return Status::InvalidArgument(Where(line), "unsupported operand type(s) for " + op + ": '" + TypeName(a) +
                                                  "' and '" + TypeName(b) + "'");
}

Result<Value> Repeat(const Value& seq, int64_t times, size_t limit, int line) {
  if (times < 0) times = 0;
  if (seq.is_string()) {
    if (!seq.str().empty() && static_cast<uint64_t>(times) > limit / seq.str().size()) {
      return Status::InvalidArgument(Where(line), "string repetition exceeds " + std::to_string(limit) + " bytes");
    }
    std::string out;
    out.reserve(seq.str().size() * static_cast<size_t>(times));
    for (int64_t i = 0; i < times; ++i) out += seq.str();
    return Value::String(std::move(out));
  }
  const auto& items = seq.list().items;
  if (!items.empty() && static_cast<uint64_t>(times) > kMaxListItems / items.size()) {
    return Status::InvalidArgument(Where(line), "list repetition exceeds " + std::to_string(kMaxListItems) + " items");
  }
  std::vector<Value> out;
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::List(std::move(out), seq.list().tuple);
}

}  // namespace

Result<Value> Evaluator::EvalBinary(const std::string& op, const Value& a, const Value& b, int line) {
  if (op == "~") {
    std::string s;
    TENET_RETURN_IF_ERROR(AppendStr(&s, a, limit()));
    TENET_RETURN_IF_ERROR(AppendStr(&s, b, limit()));
    return Value::String(std::move(s));
  }
  if (a.is_undefined()) return UndefinedError(a, line);
  if (b.is_undefined()) return UndefinedError(b, line);
  const bool ints = a.is_integral() && b.is_integral();
  const bool nums = a.is_number() && b.is_number();
  auto overflow = [&] { return Status::InvalidArgument(Where(line), "integer overflow in '" + op + "'"); };
  if (op == "+") {
    if (ints) {
      int64_t r;
      if (__builtin_add_overflow(a.int_value(), b.int_value(), &r)) return overflow();
      return Value::Int(r);
    }
    if (nums) return Value::Float(a.float_value() + b.float_value());
    if (a.is_string() && b.is_string()) {
      if (a.str().size() + b.str().size() > limit()) {
        return Status::InvalidArgument(Where(line), "string exceeds " + std::to_string(limit()) + " bytes");
      }
      return Value::String(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.list().tuple == b.list().tuple) {
      if (a.list().items.size() + b.list().items.size() > kMaxListItems) {
        return Status::InvalidArgument(Where(line), "list exceeds " + std::to_string(kMaxListItems) + " items");
      }
      std::vector<Value> items = a.list().items;
      items.insert(items.end(), b.list().items.begin(), b.list().items.end());
      return Value::List(std::move(items), a.list().tuple);
    }
    return TypeError(op, a, b, line);
  }
  if (op == "*") {
    if (ints) {
      int64_t r;
      if (__builtin_mul_overflow(a.int_value(), b.int_value(), &r)) return overflow();
      return Value::Int(r);
    }
    if (nums) return Value::Float(a.float_value() * b.float_value());
    if ((a.is_string() || a.is_list()) && b.is_integral()) return Repeat(a, b.int_value(), limit(), line);
    if ((b.is_string() || b.is_list()) && a.is_integral()) return Repeat(b, a.int_value(), limit(), line);
    return TypeError(op, a, b, line);
  }
  if (op == "%" && a.is_string()) return Status::Unimplemented(Where(line), "printf-style string formatting with '%'");
  if (!nums) return TypeError(op, a, b, line);
  if (op == "-") {
    if (ints) {
      int64_t r;
      if (__builtin_sub_overflow(a.int_value(), b.int_value(), &r)) return overflow();
      return Value::Int(r);
    }
    return Value::Float(a.float_value() - b.float_value());
  }
  const bool zero = ints ? b.int_value() == 0 : b.float_value() == 0.0;
  if (op == "/") {
    if (zero) return Status::InvalidArgument(Where(line), "division by zero");
    return Value::Float(a.float_value() / b.float_value());
  }
  if (op == "//" || op == "%") {
    if (zero) return Status::InvalidArgument(Where(line), "integer division or modulo by zero");
    if (ints) {
      int64_t x = a.int_value(), y = b.int_value();
      if (x == INT64_MIN && y == -1) return overflow();
      int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {  // Python floors toward negative infinity
        --q;
        r += y;
      }
      return Value::Int(op == "//" ? q : r);
    }
    double x = a.float_value(), y = b.float_value();
    if (op == "//") return Value::Float(std::floor(x / y));
    double r = std::fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return Value::Float(r);
  }
  if (op == "**") {
    if (ints && b.int_value() >= 0) {
      int64_t base = a.int_value(), exp = b.int_value(), r = 1;
      while (exp > 0) {
        if ((exp & 1) && __builtin_mul_overflow(r, base, &r)) return overflow();
        exp >>= 1;
        if (exp > 0 && __builtin_mul_overflow(base, base, &base)) return overflow();
      }
      return Value::Int(r);
    }
    return Value::Float(std::pow(a.float_value(), b.float_value()));
  }
  return Status::Internal(Where(line), "unknown operator '" + op + "'");
}

}  // namespace tenet::jinja
