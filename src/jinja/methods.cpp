// Attribute/item lookup, str/dict methods and globals of the Jinja subset. See builtins.h.
#include <ctime>
#include <locale.h>

#include "builtins.h"
#include "eval.h"
#include "text.h"

namespace tenet::jinja {

std::string Where(int line) { return "chat template line " + std::to_string(line); }

Result<BoundArgs> BoundArgs::Bind(const CallArgs& args, std::string_view fn, std::initializer_list<const char*> names) {
  BoundArgs b;
  b.values_.resize(names.size());
  if (args.positional.size() > names.size()) {
    return Status::InvalidArgument(Where(args.line), std::string(fn) + "() takes at most " +
                                                         std::to_string(names.size()) + " arguments (" +
                                                         std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) b.values_[i] = args.positional[i];
  for (const auto& [k, v] : args.keywords) {
    size_t i = 0;
    for (const char* n : names) {
      if (k == n) break;
      ++i;
    }
    if (i == names.size()) {
      return Status::InvalidArgument(Where(args.line), std::string(fn) + "() got an unexpected keyword argument '" + k + "'");
    }
    if (b.values_[i].has_value()) {
      return Status::InvalidArgument(Where(args.line), std::string(fn) + "() got multiple values for argument '" + k + "'");
    }
    b.values_[i] = v;
  }
  return b;
}

Status UndefinedError(const Value& v, int line) {
  const std::string& hint = v.undefined_hint();
  return Status::InvalidArgument(Where(line), hint.empty() ? "use of an undefined value" : hint);
}

namespace {

// Jinja2 names objects "'dict object'" in its undefined hints.
std::string ObjectName(const Value& v) { return Quoted(TypeName(v), " object'"); }

Status ExpectString(const Value& v, const char* what, int line) {
  if (v.is_string()) return Status::OK();
  return Status::InvalidArgument(Where(line), std::string(what) + " must be str, not " + TypeName(v));
}

// Python's str.split(sep, maxsplit).
Result<Value> Split(const std::string& s, const Value* sep, const Value* maxsplit_v, int line) {
  int64_t maxsplit = maxsplit_v != nullptr && maxsplit_v->is_integral() ? maxsplit_v->int_value() : -1;
  std::vector<Value> parts;
  if (sep == nullptr || sep->is_none()) {
    std::vector<char32_t> cps = DecodeUtf8(s);
    size_t i = 0;
    while (true) {
      while (i < cps.size() && IsPySpace(cps[i])) ++i;
      if (i >= cps.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) == maxsplit) {
        size_t e = cps.size();
        while (e > i && IsPySpace(cps[e - 1])) --e;
        parts.push_back(Value::String(EncodeUtf8(cps, i, e)));
        break;
      }
      size_t j = i;
      while (j < cps.size() && !IsPySpace(cps[j])) ++j;
      parts.push_back(Value::String(EncodeUtf8(cps, i, j)));
      i = j;
    }
    return Value::List(std::move(parts));
  }
  TENET_RETURN_IF_ERROR(ExpectString(*sep, "separator", line));
  const std::string& d = sep->str();
  if (d.empty()) return Status::InvalidArgument(Where(line), "empty separator");
  size_t start = 0;
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    size_t p = s.find(d, start);
    if (p == std::string::npos) break;
    parts.push_back(Value::String(s.substr(start, p - start)));
    start = p + d.size();
  }
  parts.push_back(Value::String(s.substr(start)));
  if (parts.size() > kMaxListItems) return Status::InvalidArgument(Where(line), "split produced too many parts");
  return Value::List(std::move(parts));
}

std::string Replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` between every code point (and at both ends)
    std::vector<char32_t> cps = DecodeUtf8(s);
    int64_t done = 0;
    for (size_t i = 0; i <= cps.size(); ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i < cps.size()) AppendUtf8(&out, cps[i]);
    }
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    size_t p = s.find(from, start);
    if (p == std::string::npos) break;
    out.append(s, start, p - start);
    out += to;
    start = p + from.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  return out;
}

// startswith/endswith accept a str or a tuple of str.
Result<bool> AffixMatch(const std::string& s, const Value& affix, bool prefix, int line) {
  std::vector<Value> options;
  if (affix.is_list()) options = affix.list().items;
  else options.push_back(affix);
  for (const Value& o : options) {
    TENET_RETURN_IF_ERROR(ExpectString(o, prefix ? "startswith arg" : "endswith arg", line));
    const std::string& a = o.str();
    if (a.size() > s.size()) continue;
    if (prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0) return true;
  }
  return false;
}

Result<Value> CallStrMethod(Evaluator& ev, const std::string& s, const std::string& name, const CallArgs& args) {
  const int line = args.line;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(args, name, {"chars"}));
    const std::string* chars = nullptr;
    if (b.has(0) && !b.get(0)->is_none()) {
      TENET_RETURN_IF_ERROR(ExpectString(*b.get(0), "chars", line));
      chars = &b.get(0)->str();
    }
    return Value::String(PyStrip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    TENET_RETURN_IF_ERROR(BoundArgs::Bind(args, name, {}).status());
    if (name == "upper") return Value::String(PyUpper(s));
    if (name == "lower") return Value::String(PyLower(s));
    if (name == "title") return Value::String(PyTitle(s));
    return Value::String(PyCapitalize(s));
  }
  if (name == "startswith" || name == "endswith") {
    TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(args, name, {"affix"}));
    if (!b.has(0)) return Status::InvalidArgument(Where(line), name + "() takes at least 1 argument");
    TENET_ASSIGN_OR_RETURN(bool r, AffixMatch(s, *b.get(0), name == "startswith", line));
    return Value::Bool(r);
  }
  if (name == "split") {
    TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(args, name, {"sep", "maxsplit"}));
    return Split(s, b.get(0), b.get(1), line);
  }
  if (name == "replace") {
    TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(args, name, {"old", "new", "count"}));
    if (!b.has(0) || !b.has(1)) return Status::InvalidArgument(Where(line), "replace() takes at least 2 arguments");
    TENET_RETURN_IF_ERROR(ExpectString(*b.get(0), "replace() argument 1", line));
    TENET_RETURN_IF_ERROR(ExpectString(*b.get(1), "replace() argument 2", line));
    int64_t count = b.has(2) && b.get(2)->is_integral() ? b.get(2)->int_value() : -1;
    std::string r = Replace(s, b.get(0)->str(), b.get(1)->str(), count);
    if (r.size() > ev.limit()) return Status::InvalidArgument(Where(line), "string exceeds the output limit");
    return Value::String(std::move(r));
  }
  if (name == "find" || name == "count") {
    TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(args, name, {"sub"}));
    if (!b.has(0)) return Status::InvalidArgument(Where(line), name + "() takes at least 1 argument");
    TENET_RETURN_IF_ERROR(ExpectString(*b.get(0), "substring", line));
    const std::string& sub = b.get(0)->str();
    if (name == "find") {
      size_t p = s.find(sub);
      return Value::Int(p == std::string::npos ? -1 : static_cast<int64_t>(CodePointCount(s.substr(0, p))));
    }
    if (sub.empty()) return Value::Int(static_cast<int64_t>(CodePointCount(s)) + 1);
    int64_t n = 0;
    for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
    return Value::Int(n);
  }
  if (name == "removeprefix" || name == "removesuffix") {
    TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(args, name, {"affix"}));
    if (!b.has(0)) return Status::InvalidArgument(Where(line), name + "() takes exactly one argument");
    TENET_RETURN_IF_ERROR(ExpectString(*b.get(0), name.c_str(), line));
    const std::string& a = b.get(0)->str();
    TENET_ASSIGN_OR_RETURN(bool match, AffixMatch(s, *b.get(0), name == "removeprefix", line));
    if (!match) return Value::String(s);
    return Value::String(name == "removeprefix" ? s.substr(a.size()) : s.substr(0, s.size() - a.size()));
  }
  if (name == "join") {
    TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(args, name, {"iterable"}));
    if (!b.has(0)) return Status::InvalidArgument(Where(line), "join() takes exactly one argument");
    TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(*b.get(0), line));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      TENET_RETURN_IF_ERROR(ExpectString(items[i], "sequence item", line));
      if (i > 0) out += s;
      out += items[i].str();
      if (out.size() > ev.limit()) return Status::InvalidArgument(Where(line), "string exceeds the output limit");
    }
    return Value::String(std::move(out));
  }
  if (name == "isspace" || name == "isdigit" || name == "isalpha" || name == "isupper" || name == "islower") {
    TENET_RETURN_IF_ERROR(BoundArgs::Bind(args, name, {}).status());
    std::vector<char32_t> cps = DecodeUtf8(s);
    if (cps.empty()) return Value::Bool(false);
    bool cased = false;
    for (char32_t c : cps) {
      if (name == "isspace" && !IsPySpace(c)) return Value::Bool(false);
      if (name == "isdigit" && !(c >= '0' && c <= '9')) return Value::Bool(false);
      if (name == "isalpha" && !IsAlpha(c)) return Value::Bool(false);
      if (name == "isupper" && ToUpper(c) != c) return Value::Bool(false);
      if (name == "islower" && ToLower(c) != c) return Value::Bool(false);
      cased = cased || ToUpper(c) != ToLower(c);
    }
    return Value::Bool(name == "isupper" || name == "islower" ? cased : true);
  }
  return Status::Unimplemented(Where(line), "unsupported method 'str." + name + "'");
}

Result<Value> CallDictMethod(const Value& d, const std::string& name, const CallArgs& args) {
  if (name == "get") {
    TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(args, name, {"key", "default"}));
    if (!b.has(0)) return Status::InvalidArgument(Where(args.line), "get() takes at least 1 argument");
    if (b.get(0)->is_string()) {
      const Value* v = d.dict().Find(b.get(0)->str());
      if (v != nullptr) return *v;
    }
    return b.has(1) ? *b.get(1) : Value::None();
  }
  TENET_RETURN_IF_ERROR(BoundArgs::Bind(args, name, {}).status());
  std::vector<Value> out;
  for (const auto& [k, v] : d.dict().entries) {
    if (name == "keys") {
      out.push_back(Value::String(k));
    } else if (name == "values") {
      out.push_back(v);
    } else {
      TENET_ASSIGN_OR_RETURN(Value pair, Value::List({Value::String(k), v}, /*tuple=*/true));
      out.push_back(std::move(pair));
    }
  }
  return Value::List(std::move(out));
}

bool IsStrMethod(const std::string& n) {
  static const char* const kNames[] = {"strip",  "lstrip", "rstrip", "upper",        "lower",        "title",
                                       "capitalize", "startswith", "endswith", "split", "replace", "find",
                                       "count", "removeprefix", "removesuffix", "join", "isspace", "isdigit",
                                       "isalpha", "isupper", "islower"};
  for (const char* k : kNames)
    if (n == k) return true;
  return false;
}

bool IsDictMethod(const std::string& n) { return n == "get" || n == "items" || n == "keys" || n == "values"; }

Value BindMethod(const Value& obj, const std::string& name) {
  return Value::Func(TypeName(obj) + "." + name, [obj, name](Evaluator& ev, const CallArgs& args) -> Result<Value> {
    if (obj.is_string()) return CallStrMethod(ev, obj.str(), name, args);
    return CallDictMethod(obj, name, args);
  });
}

// Python index normalization for lists and strings; false when out of range.
bool NormalizeIndex(int64_t* i, size_t size) {
  if (*i < 0) *i += static_cast<int64_t>(size);
  return *i >= 0 && *i < static_cast<int64_t>(size);
}

}  // namespace

Result<Value> GetAttribute(const Value& obj, const std::string& name, int line) {
  if (obj.is_undefined()) return UndefinedError(obj, line);
  if (obj.is_string() && IsStrMethod(name)) return BindMethod(obj, name);
  if (obj.is_dict()) {
    if (!obj.dict().is_namespace && IsDictMethod(name)) return BindMethod(obj, name);
    const Value* v = obj.dict().Find(name);
    if (v != nullptr) return *v;
  }
  return Value::Undefined(ObjectName(obj) + " has no attribute '" + name + "'");
}

Result<Value> GetItem(const Value& obj, const Value& key, int line) {
  if (obj.is_undefined()) return UndefinedError(obj, line);
  if (obj.is_dict() && key.is_string()) {
    const Value* v = obj.dict().Find(key.str());
    if (v != nullptr) return *v;
  }
  if (obj.is_list() && key.is_integral()) {
    int64_t i = key.int_value();
    if (NormalizeIndex(&i, obj.list().items.size())) return obj.list().items[static_cast<size_t>(i)];
    return Value::Undefined(ObjectName(obj) + " has no element " + std::to_string(key.int_value()));
  }
  if (obj.is_string() && key.is_integral()) {
    std::vector<char32_t> cps = DecodeUtf8(obj.str());
    int64_t i = key.int_value();
    if (NormalizeIndex(&i, cps.size())) return Value::String(EncodeUtf8(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
    return Value::Undefined(ObjectName(obj) + " has no element " + std::to_string(key.int_value()));
  }
  if (key.is_string()) return GetAttribute(obj, key.str(), line);
  std::string k;
  (void)AppendRepr(&k, key, 256);
  return Value::Undefined(ObjectName(obj) + " has no element " + k);
}

Result<Value> GetSlice(const Value& obj, const Value* start_v, const Value* stop_v, const Value* step_v, int line) {
  if (obj.is_undefined()) return UndefinedError(obj, line);
  auto as_index = [&](const Value* v, int64_t* out) -> Result<bool> {
    if (v == nullptr || v->is_none()) return false;
    if (!v->is_integral()) {
      return Status::InvalidArgument(Where(line), "slice indices must be integers or None, not " + TypeName(*v));
    }
    *out = v->int_value();
    return true;
  };
  int64_t step = 1;
  TENET_ASSIGN_OR_RETURN(bool has_step, as_index(step_v, &step));
  (void)has_step;
  if (step == 0) return Status::InvalidArgument(Where(line), "slice step cannot be zero");
  std::vector<char32_t> cps;
  size_t n;
  if (obj.is_string()) {
    cps = DecodeUtf8(obj.str());
    n = cps.size();
  } else if (obj.is_list()) {
    n = obj.list().items.size();
  } else {
    return Status::InvalidArgument(Where(line), Quoted(TypeName(obj), "' object is not subscriptable"));
  }
  const int64_t len = static_cast<int64_t>(n);
  // Python's PySlice_AdjustIndices.
  int64_t start, stop;
  TENET_ASSIGN_OR_RETURN(bool has_start, as_index(start_v, &start));
  TENET_ASSIGN_OR_RETURN(bool has_stop, as_index(stop_v, &stop));
  auto adjust = [&](int64_t v, bool given, int64_t dflt) {
    if (!given) return dflt;
    if (v < 0) {
      v += len;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= len) {
      v = step < 0 ? len - 1 : len;
    }
    return v;
  };
  start = adjust(start, has_start, step < 0 ? len - 1 : 0);
  stop = adjust(stop, has_stop, step < 0 ? -1 : len);
  std::vector<size_t> picks;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) picks.push_back(static_cast<size_t>(i));
  if (obj.is_string()) {
    std::string out;
    for (size_t i : picks) AppendUtf8(&out, cps[i]);
    return Value::String(std::move(out));
  }
  std::vector<Value> out;
  for (size_t i : picks) out.push_back(obj.list().items[i]);
  return Value::List(std::move(out), obj.list().tuple);
}

bool IsUnsupportedMethod(const Value& obj, const std::string& name) {
  if (obj.is_dict()) return !obj.dict().is_namespace && obj.dict().Find(name) == nullptr;
  (void)name;
  return obj.is_string() || obj.is_list();
}

Result<std::vector<Value>> Iterate(const Value& v, int line) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return std::vector<Value>{};
    case Value::Kind::kList: return v.list().items;
    case Value::Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& [k, x] : v.dict().entries) keys.push_back(Value::String(k));
      return keys;
    }
    case Value::Kind::kString: {
      std::vector<Value> chars;
      for (char32_t c : DecodeUtf8(v.str())) {
        std::string s;
        AppendUtf8(&s, c);
        chars.push_back(Value::String(std::move(s)));
      }
      return chars;
    }
    default: return Status::InvalidArgument(Where(line), Quoted(TypeName(v), "' object is not iterable"));
  }
}

Result<bool> Contains(const Value& haystack, const Value& needle, int line) {
  switch (haystack.kind()) {
    case Value::Kind::kUndefined: return false;
    case Value::Kind::kString:
      if (!needle.is_string()) {
        return Status::InvalidArgument(Where(line), "'in <string>' requires string as left operand, not " + TypeName(needle));
      }
      return haystack.str().find(needle.str()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& x : haystack.list().items)
        if (Equals(x, needle)) return true;
      return false;
    case Value::Kind::kDict: return needle.is_string() && haystack.dict().Find(needle.str()) != nullptr;
    default: return Status::InvalidArgument(Where(line), "argument of type '" + TypeName(haystack) + "' is not iterable");
  }
}

namespace {

Result<Value> Range(Evaluator&, const CallArgs& args) {
  int64_t v[3] = {0, 0, 1};
  size_t n = args.positional.size();
  if (n < 1 || n > 3 || !args.keywords.empty()) {
    return Status::InvalidArgument(Where(args.line), "range() expects 1 to 3 integer arguments");
  }
  for (size_t i = 0; i < n; ++i) {
    if (!args.positional[i].is_integral()) {
      return Status::InvalidArgument(Where(args.line), Quoted(TypeName(args.positional[i]),
                                                                  "' object cannot be interpreted as an integer"));
    }
  }
  if (n == 1) {
    v[1] = args.positional[0].int_value();
  } else {
    v[0] = args.positional[0].int_value();
    v[1] = args.positional[1].int_value();
    if (n == 3) v[2] = args.positional[2].int_value();
  }
  if (v[2] == 0) return Status::InvalidArgument(Where(args.line), "range() arg 3 must not be zero");
  // Count first, in 128 bits, so a hostile range is refused before any allocation.
  __int128 span = static_cast<__int128>(v[1]) - v[0];
  __int128 count = v[2] > 0 ? (span > 0 ? (span + v[2] - 1) / v[2] : 0) : (span < 0 ? (-span + (-v[2]) - 1) / (-v[2]) : 0);
  if (count > static_cast<__int128>(kMaxListItems)) {
    return Status::InvalidArgument(Where(args.line), "range() larger than " + std::to_string(kMaxListItems) + " items");
  }
  std::vector<Value> items;
  items.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) items.push_back(Value::Int(v[0] + i * v[2]));
  return Value::List(std::move(items));
}

Result<Value> MakeDict(const CallArgs& args, bool is_namespace) {
  auto data = std::make_shared<DictData>();
  data->is_namespace = is_namespace;
  for (const Value& p : args.positional) {  // namespace({...}) / dict({...}) copy a mapping
    if (!p.is_dict()) return Status::InvalidArgument(Where(args.line), "expected a mapping argument");
    for (const auto& [k, v] : p.dict().entries) data->Set(k, v);
  }
  for (const auto& [k, v] : args.keywords) data->Set(k, v);
  return Value::Dict(std::move(data));
}

Result<Value> StrftimeNow(Evaluator& ev, const CallArgs& args) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(args, "strftime_now", {"format"}));
  if (!b.has(0) || !b.get(0)->is_string()) {
    return Status::InvalidArgument(Where(args.line), "strftime_now() expects a format string");
  }
  std::time_t t = std::chrono::system_clock::to_time_t(ev.options().now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  // The C locale, not the process's, so month and day names are stable ("Jul", "Fri").
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(nullptr));
  std::string buf(256 + b.get(0)->str().size() * 8, '\0');
  size_t n = strftime_l(buf.data(), buf.size(), b.get(0)->str().c_str(), &tm, c_locale);
  buf.resize(n);
  return Value::String(std::move(buf));
}

}  // namespace

void AddGlobals(std::unordered_map<std::string, Value>* globals) {
  (*globals)["range"] = Value::Func("range", Range);
  (*globals)["namespace"] = Value::Func("namespace", [](Evaluator&, const CallArgs& a) { return MakeDict(a, true); });
  (*globals)["dict"] = Value::Func("dict", [](Evaluator&, const CallArgs& a) { return MakeDict(a, false); });
  (*globals)["raise_exception"] = Value::Func("raise_exception", [](Evaluator& ev, const CallArgs& a) -> Result<Value> {
    std::string msg;
    if (!a.positional.empty()) {
      TENET_ASSIGN_OR_RETURN(msg, ToStr(a.positional[0], ev.limit()));
    }
    return Status::InvalidArgument(Where(a.line), msg.empty() ? "raise_exception() called" : msg);
  });
  (*globals)["strftime_now"] = Value::Func("strftime_now", StrftimeNow);
}

}  // namespace tenet::jinja
