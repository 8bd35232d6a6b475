// Syntax tree of the chat-template Jinja engine: expressions and statements as the parser
// (parser.h) builds them and the evaluator (eval.h) walks them. Plain data, immutable
// after parsing, so one parsed template may be rendered from many threads.
//
// Not for: semantics; see eval.cpp.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "value.h"

namespace tenet::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Expr {
  enum class Kind {
    kLiteral,   // value
    kName,      // name
    kList,      // args = items
    kTuple,     // args = items
    kDict,      // kwargs-like pairs in dict_items
    kGetAttr,   // args[0].name
    kGetItem,   // args[0][args[1]]
    kSlice,     // args[0][args[1]:args[2]:args[3]] (null parts omitted)
    kCall,      // args[0](args[1..], kwargs)
    kFilter,    // args[0] | name(args[1..], kwargs)
    kTest,      // args[0] is [not] name(args[1..], kwargs)
    kUnary,     // name in {"-", "+", "not"} applied to args[0]
    kBinary,    // args[0] name args[1], name an arithmetic operator or "~"
    kAnd,       // args[0] and args[1]
    kOr,        // args[0] or args[1]
    kCompare,   // args[0] ops[0] args[1] ops[1] args[2] ... (chained, like Python)
    kCondition, // args[0] if args[1] else args[2] (args[2] null: undefined)
  };
  Kind kind = Kind::kLiteral;
  int line = 0;
  Value value;
  std::string name;
  bool negated = false;  // kTest: `is not`
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::pair<ExprPtr, ExprPtr>> dict_items;
  std::vector<std::string> ops;
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct IfBranch {
  ExprPtr condition;
  Body body;
};

struct Stmt {
  enum class Kind {
    kData,        // text
    kPrint,       // {{ expr }}
    kIf,          // branches (if/elif), else_body
    kFor,         // targets in expr [if filter] body [else else_body]
    kSet,         // targets = expr, or attr_target.attr = expr
    kSetBlock,    // {% set name %}body{% endset %}
    kMacro,       // name(params) body
    kBreak,
    kContinue,
    kGeneration,  // transformers' {% generation %} marker: renders its body unchanged
  };
  Kind kind = Kind::kData;
  int line = 0;
  std::string text;                  // kData text; kMacro / kSetBlock name
  ExprPtr expr;                      // kPrint, kFor iterable, kSet value
  ExprPtr filter;                    // kFor `if` filter
  std::vector<std::string> targets;  // kFor loop variables, kSet names
  std::string attr;                  // kSet `ns.attr = ...`: targets[0] is the namespace
  std::vector<IfBranch> branches;
  std::vector<MacroParam> params;
  bool uses_loop = true;             // kFor: the body or filter mentions `loop` (else not built)
  Body body;
  Body else_body;
};

}  // namespace tenet::jinja
