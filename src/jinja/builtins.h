// Builtins of the chat-template Jinja engine: filters (filters.cpp), tests
// (tests.cpp), attribute and item lookup, str/dict/list methods and globals
// (methods.cpp), each with the semantics of Jinja2 3.1 in Hugging Face's sandboxed environment, including transformers'
// `tojson` (json.dumps with ensure_ascii=False, keys unsorted), `raise_exception` and
// `strftime_now`.
//
// Errors: InvalidArgument with the Python-style message for bad arguments or types;
// Unimplemented naming the method for a str/dict/list method outside the subset.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "value.h"
#include "tenet/util/status.h"

namespace tenet::jinja {

class Evaluator;

bool IsKnownFilter(std::string_view name);
bool IsKnownTest(std::string_view name);
Result<Value> ApplyFilter(Evaluator& ev, const std::string& name, const Value& input, const CallArgs& args);
Result<bool> ApplyTest(Evaluator& ev, const std::string& name, const Value& input, const CallArgs& args);

// `obj.name` with Jinja2's sandbox rules: methods of str/dict/list first, then dict items;
// Undefined (with a hint) when absent. InvalidArgument when `obj` is itself undefined.
Result<Value> GetAttribute(const Value& obj, const std::string& name, int line);
// `obj[key]`: dict items, list/str indexes (negative from the end), then attributes.
Result<Value> GetItem(const Value& obj, const Value& key, int line);
// `obj[start:stop:step]` on lists, tuples and strings; null parts are omitted ones.
Result<Value> GetSlice(const Value& obj, const Value* start, const Value* stop, const Value* step, int line);
// Python iteration: list/tuple items, dict keys, str code points; undefined iterates as empty.
// InvalidArgument for other types ("'int' object is not iterable").
Result<std::vector<Value>> Iterate(const Value& v, int line);
// Python `needle in haystack`.
Result<bool> Contains(const Value& haystack, const Value& needle, int line);
// InvalidArgument "'x' is undefined" (the value's hint) for using an undefined value.
Status UndefinedError(const Value& v, int line);

// True when `name` is a Python method of obj's type that this engine does not implement, so a
// call can be reported as Unimplemented rather than as an undefined value.
bool IsUnsupportedMethod(const Value& obj, const std::string& name);

// Globals every template sees: range, namespace, dict, raise_exception, strftime_now.
void AddGlobals(std::unordered_map<std::string, Value>* globals);

// "chat template line N" for messages.
std::string Where(int line);

// Python-style binding of call arguments to parameter names.
class BoundArgs {
 public:
  // InvalidArgument for too many positional arguments, unknown or repeated keywords.
  static Result<BoundArgs> Bind(const CallArgs& args, std::string_view fn, std::initializer_list<const char*> names);
  const Value* get(size_t i) const { return i < values_.size() && values_[i].has_value() ? &*values_[i] : nullptr; }
  bool has(size_t i) const { return get(i) != nullptr; }

 private:
  std::vector<std::optional<Value>> values_;
};

}  // namespace tenet::jinja
