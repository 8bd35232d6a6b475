// Runtime values of the chat-template Jinja engine, with Python's semantics for the operations
// templates use: truthiness, str() and repr(), ==, ordering, and json.dumps as Hugging Face's
// `tojson` filter calls it.
//
// Values are immutable once built (Hugging Face renders in an ImmutableSandboxedEnvironment, so
// templates cannot mutate lists or dicts) except `namespace()` objects, whose attributes `{% set
// ns.x = ... %}` assigns; sharing by shared_ptr is therefore safe and cheap. Dicts keep insertion
// order like Python's. Nesting depth is tracked at construction so that neither printing nor
// destruction can recurse without bound on hostile templates.
//
// Not for: anything outside template evaluation; values are not thread-safe to mutate, but one
// render owns its values and renders share none.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenet/util/status.h"

namespace tenet::jinja {

class Evaluator;
class Value;

// Deeper lists/dicts are rejected when built: recursion over values is bounded by this.
constexpr int kMaxValueDepth = 128;

struct ListData {
  std::vector<Value> items;
  int depth = 1;       // 1 + deepest child container
  bool tuple = false;  // printed as (a, b) instead of [a, b]
};

struct DictData {
  std::vector<std::pair<std::string, Value>> entries;  // insertion order
  std::unordered_map<std::string, size_t> index;       // key -> position in entries
  int depth = 1;
  bool is_namespace = false;  // created by namespace(); attributes assignable

  const Value* Find(std::string_view key) const;
  // Inserts or replaces, keeping the original position of an existing key.
  void Set(const std::string& key, Value value);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
  int line = 0;
};

struct Function {
  std::string name;
  std::function<Result<Value>(Evaluator&, const CallArgs&)> call;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction };

  Value() = default;  // undefined
  // `hint` says what was looked up ("'foo' is undefined"), for the error when it is used.
  static Value Undefined(std::string hint);
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double f);
  static Value String(std::string s);
  static Value Func(std::string name, std::function<Result<Value>(Evaluator&, const CallArgs&)> fn);
  // Fail (InvalidArgument) when the result would nest deeper than kMaxValueDepth.
  static Result<Value> List(std::vector<Value> items, bool tuple = false);
  static Result<Value> Dict(std::shared_ptr<DictData> data);
  // Converts JSON; objects keep nlohmann's key order. InvalidArgument if nested too deep.
  static Result<Value> FromJson(const nlohmann::json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_function() const { return kind_ == Kind::kFunction; }
  // Python treats bool as an int: True + 1 == 2.
  bool is_integral() const { return kind_ == Kind::kInt || kind_ == Kind::kBool; }
  bool is_number() const { return is_integral() || kind_ == Kind::kFloat; }

  bool bool_value() const { return b_; }
  int64_t int_value() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double float_value() const { return kind_ == Kind::kFloat ? f_ : static_cast<double>(int_value()); }
  const std::string& str() const;        // kString only
  const std::string& undefined_hint() const;  // kUndefined only ("" when none)
  const ListData& list() const;          // kList only
  const DictData& dict() const;          // kDict only
  DictData& mutable_namespace() const;   // kDict with is_namespace only
  const Function& function() const;      // kFunction only
  int depth() const;                     // 0 for scalars

 private:
  Kind kind_ = Kind::kUndefined;
  union {
    bool b_;
    int64_t i_ = 0;
    double f_;
  };
  std::shared_ptr<void> ptr_;  // std::string, ListData, DictData or Function by kind
};

// Python type name for messages: "str", "int", "list", "dict", "NoneType", "Undefined", ...
std::string TypeName(const Value& v);
// Python bool(v); undefined is false.
bool Truthy(const Value& v);
// Python ==; undefined equals only undefined.
bool Equals(const Value& a, const Value& b);
// Python ordering for <, <=, >, >=: -1, 0 or 1. InvalidArgument for unordered types.
Result<int> Compare(const Value& a, const Value& b);

// Depth of v's containers as they are now, walking into namespaces (whose contents may have been
// assigned after containers holding them were built, so the depths recorded at construction can
// be stale), or -1 when `target` is among them (assigning v into target would make a cycle).
// Stops counting past `limit`.
int CurrentDepth(const Value& v, const DictData* target, int limit);

// Appends Python str(v) (undefined prints as ""). InvalidArgument once `out` would exceed `limit`
// bytes, so shared sub-lists cannot explode memory.
Status AppendStr(std::string* out, const Value& v, size_t limit);
Status AppendRepr(std::string* out, const Value& v, size_t limit);
Result<std::string> ToStr(const Value& v, size_t limit);

// json.dumps(v, ensure_ascii=False, indent=indent, separators=..., sort_keys=...) with Python's
// default separators: (", ", ": ") without indent, (",", ": ") with it. indent < 0 means None.
// InvalidArgument for values JSON cannot hold (undefined, functions) or past `limit` bytes.
struct JsonOptions {
  int indent = -1;
  bool custom_separators = false;  // false: Python's default for the indent
  std::string item_sep;
  std::string key_sep;
  bool sort_keys = false;
};
Status AppendJson(std::string* out, const Value& v, const JsonOptions& opts, size_t limit);

}  // namespace tenet::jinja
