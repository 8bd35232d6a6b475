// Tests (`x is defined`, `x is divisibleby 3`, ...) of the Jinja subset, after Jinja2 3.1's
// tests.py. See builtins.h.
#include <map>

#include "builtins.h"
#include "eval.h"
#include "text.h"

namespace tenet::jinja {

namespace {

using TestFn = Result<bool> (*)(Evaluator&, const Value&, const CallArgs&);

Result<const Value*> OneArg(const CallArgs& a, const char* test) {
  if (a.positional.size() != 1) {
    return Status::InvalidArgument(Where(a.line), std::string("test '") + test + "' takes one argument");
  }
  return &a.positional[0];
}

Result<bool> TestDefined(Evaluator&, const Value& v, const CallArgs&) { return !v.is_undefined(); }
Result<bool> TestUndefined(Evaluator&, const Value& v, const CallArgs&) { return v.is_undefined(); }
Result<bool> TestNone(Evaluator&, const Value& v, const CallArgs&) { return v.is_none(); }
Result<bool> TestString(Evaluator&, const Value& v, const CallArgs&) { return v.is_string(); }
Result<bool> TestMapping(Evaluator&, const Value& v, const CallArgs&) { return v.is_dict(); }
Result<bool> TestBoolean(Evaluator&, const Value& v, const CallArgs&) { return v.kind() == Value::Kind::kBool; }
Result<bool> TestFalse(Evaluator&, const Value& v, const CallArgs&) { return v.kind() == Value::Kind::kBool && !v.bool_value(); }
Result<bool> TestTrue(Evaluator&, const Value& v, const CallArgs&) { return v.kind() == Value::Kind::kBool && v.bool_value(); }
Result<bool> TestInteger(Evaluator&, const Value& v, const CallArgs&) { return v.kind() == Value::Kind::kInt; }
Result<bool> TestFloat(Evaluator&, const Value& v, const CallArgs&) { return v.kind() == Value::Kind::kFloat; }
Result<bool> TestNumber(Evaluator&, const Value& v, const CallArgs&) { return v.is_number(); }
Result<bool> TestCallable(Evaluator&, const Value& v, const CallArgs&) { return v.is_function(); }
// Undefined is iterable in Jinja2 (it iterates as empty); so are str, list and dict.
Result<bool> TestIterable(Evaluator&, const Value& v, const CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
Result<bool> TestSequence(Evaluator&, const Value& v, const CallArgs&) {
  return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
}
Result<bool> TestLower(Evaluator&, const Value& v, const CallArgs&) { return v.is_string() && PyLower(v.str()) == v.str(); }
Result<bool> TestUpper(Evaluator&, const Value& v, const CallArgs&) { return v.is_string() && PyUpper(v.str()) == v.str(); }

Result<bool> TestOdd(Evaluator&, const Value& v, const CallArgs& a) {
  if (!v.is_integral()) return Status::InvalidArgument(Where(a.line), "test 'odd' needs an integer");
  return v.int_value() % 2 != 0;
}
Result<bool> TestEven(Evaluator&, const Value& v, const CallArgs& a) {
  if (!v.is_integral()) return Status::InvalidArgument(Where(a.line), "test 'even' needs an integer");
  return v.int_value() % 2 == 0;
}
Result<bool> TestDivisibleBy(Evaluator&, const Value& v, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(const Value* n, OneArg(a, "divisibleby"));
  if (!v.is_integral() || !n->is_integral() || n->int_value() == 0) {
    return Status::InvalidArgument(Where(a.line), "test 'divisibleby' needs integers and a non-zero divisor");
  }
  return v.int_value() % n->int_value() == 0;
}
Result<bool> TestEq(Evaluator&, const Value& v, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(const Value* o, OneArg(a, "eq"));
  return Equals(v, *o);
}
Result<bool> TestNe(Evaluator&, const Value& v, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(const Value* o, OneArg(a, "ne"));
  return !Equals(v, *o);
}
Result<bool> OrderTest(const Value& v, const CallArgs& a, const char* name, bool (*ok)(int)) {
  TENET_ASSIGN_OR_RETURN(const Value* o, OneArg(a, name));
  auto c = Compare(v, *o);
  if (!c.ok()) return c.status().WithContext(Where(a.line));
  return ok(*c);
}
Result<bool> TestLt(Evaluator&, const Value& v, const CallArgs& a) { return OrderTest(v, a, "lt", [](int c) { return c < 0; }); }
Result<bool> TestLe(Evaluator&, const Value& v, const CallArgs& a) { return OrderTest(v, a, "le", [](int c) { return c <= 0; }); }
Result<bool> TestGt(Evaluator&, const Value& v, const CallArgs& a) { return OrderTest(v, a, "gt", [](int c) { return c > 0; }); }
Result<bool> TestGe(Evaluator&, const Value& v, const CallArgs& a) { return OrderTest(v, a, "ge", [](int c) { return c >= 0; }); }
Result<bool> TestIn(Evaluator&, const Value& v, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(const Value* o, OneArg(a, "in"));
  return Contains(*o, v, a.line);
}
// `sameas` is Python identity; for values without identity here, equal scalars of one kind.
Result<bool> TestSameAs(Evaluator&, const Value& v, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(const Value* o, OneArg(a, "sameas"));
  if (v.kind() != o->kind()) return false;
  if (v.is_list() || v.is_dict() || v.is_function() || v.is_string()) return false;
  return Equals(v, *o);
}
Result<bool> TestFilter(Evaluator&, const Value& v, const CallArgs&) { return v.is_string() && IsKnownFilter(v.str()); }
Result<bool> TestTest(Evaluator&, const Value& v, const CallArgs&) { return v.is_string() && IsKnownTest(v.str()); }

const std::map<std::string, TestFn, std::less<>>& Tests() {
  static const std::map<std::string, TestFn, std::less<>> k = {
      {"!=", TestNe},        {"<", TestLt},           {"<=", TestLe},          {"==", TestEq},
      {">", TestGt},         {">=", TestGe},          {"boolean", TestBoolean}, {"callable", TestCallable},
      {"defined", TestDefined}, {"divisibleby", TestDivisibleBy}, {"eq", TestEq},  {"equalto", TestEq},
      {"even", TestEven},    {"false", TestFalse},    {"filter", TestFilter},  {"float", TestFloat},
      {"ge", TestGe},        {"greaterthan", TestGt}, {"gt", TestGt},          {"in", TestIn},
      {"integer", TestInteger}, {"iterable", TestIterable}, {"le", TestLe},    {"lessthan", TestLt},
      {"lower", TestLower},  {"lt", TestLt},          {"mapping", TestMapping}, {"ne", TestNe},
      {"none", TestNone},    {"number", TestNumber},  {"odd", TestOdd},        {"sameas", TestSameAs},
      {"sequence", TestSequence}, {"string", TestString}, {"test", TestTest},  {"true", TestTrue},
      {"undefined", TestUndefined}, {"upper", TestUpper},
  };
  return k;
}

}  // namespace

bool IsKnownTest(std::string_view name) { return Tests().count(name) > 0; }

Result<bool> ApplyTest(Evaluator& ev, const std::string& name, const Value& input, const CallArgs& args) {
  auto it = Tests().find(name);
  if (it == Tests().end()) return Status::Unimplemented(Where(args.line), "unsupported test '" + name + "'");
  return it->second(ev, input, args);
}

}  // namespace tenet::jinja
