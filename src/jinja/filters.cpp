// Filters of the Jinja subset, after Jinja2 3.1's filters.py and transformers' tojson. See
// builtins.h.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "builtins.h"
#include "eval.h"
#include "text.h"

namespace tenet::jinja {

namespace {

using FilterFn = Result<Value> (*)(Evaluator&, const Value&, const CallArgs&);

Result<std::string> Str(Evaluator& ev, const Value& v) { return ToStr(v, ev.limit()); }

// Jinja2's attribute getter for map/selectattr/sort/...: dotted paths, integer parts as indexes.
Result<Value> GetPath(const Value& v, const std::string& path, int line) {
  Value cur = v;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (numeric) {
      TENET_ASSIGN_OR_RETURN(cur, GetItem(cur, Value::Int(std::atoll(part.c_str())), line));
    } else {
      TENET_ASSIGN_OR_RETURN(cur, GetItem(cur, Value::String(part), line));
    }
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

Result<std::string> AttributeArg(const Value* v, int line) {
  if (v == nullptr || v->is_none()) return std::string();
  if (v->is_integral()) return std::to_string(v->int_value());
  if (!v->is_string()) return Status::InvalidArgument(Where(line), "attribute must be a string");
  return v->str();
}

Result<Value> FilterTrim(Evaluator& ev, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "trim", {"chars"}));
  TENET_ASSIGN_OR_RETURN(std::string s, Str(ev, in));
  const std::string* chars = b.has(0) && b.get(0)->is_string() ? &b.get(0)->str() : nullptr;
  return Value::String(PyStrip(s, chars, true, true));
}

// transformers: json.dumps(x, ensure_ascii=False, indent=indent, separators=separators,
// sort_keys=sort_keys) — note ensure_ascii comes first positionally.
Result<Value> FilterToJson(Evaluator& ev, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"}));
  JsonOptions o;
  if (b.has(1) && !b.get(1)->is_none()) {
    if (!b.get(1)->is_integral()) return Status::Unimplemented(Where(a.line), "tojson indent other than an integer");
    o.indent = static_cast<int>(std::clamp<int64_t>(b.get(1)->int_value(), 0, 64));
  }
  if (b.has(2) && !b.get(2)->is_none()) {
    const Value& sep = *b.get(2);
    if (!sep.is_list() || sep.list().items.size() != 2 || !sep.list().items[0].is_string() ||
        !sep.list().items[1].is_string()) {
      return Status::InvalidArgument(Where(a.line), "tojson separators must be a pair of strings");
    }
    o.custom_separators = true;
    o.item_sep = sep.list().items[0].str();
    o.key_sep = sep.list().items[1].str();
  }
  o.sort_keys = b.has(3) && Truthy(*b.get(3));
  std::string out;
  Status s = AppendJson(&out, in, o, ev.limit());
  if (!s.ok()) return s.WithContext(Where(a.line));
  if (b.has(0) && Truthy(*b.get(0))) {  // ensure_ascii: \uXXXX (surrogate pairs above U+FFFF)
    std::string ascii;
    for (char32_t c : DecodeUtf8(out)) {
      if (c < 0x80) {
        ascii += static_cast<char>(c);
        continue;
      }
      auto hex = [&](unsigned u) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "\\u%04x", u);
        ascii += buf;
      };
      if (c >= 0x10000) {
        hex(0xd800 + ((c - 0x10000) >> 10));
        hex(0xdc00 + ((c - 0x10000) & 0x3ff));
      } else {
        hex(static_cast<unsigned>(c));
      }
    }
    out = std::move(ascii);
  }
  return Value::String(std::move(out));
}

Result<Value> FilterLength(Evaluator&, const Value& in, const CallArgs& a) {
  switch (in.kind()) {
    case Value::Kind::kUndefined: return Value::Int(0);
    case Value::Kind::kString: return Value::Int(static_cast<int64_t>(CodePointCount(in.str())));
    case Value::Kind::kList: return Value::Int(static_cast<int64_t>(in.list().items.size()));
    case Value::Kind::kDict: return Value::Int(static_cast<int64_t>(in.dict().entries.size()));
    default: return Status::InvalidArgument(Where(a.line), "object of type '" + TypeName(in) + "' has no len()");
  }
}

Result<Value> FilterUpper(Evaluator& ev, const Value& in, const CallArgs&) {
  TENET_ASSIGN_OR_RETURN(std::string s, Str(ev, in));
  return Value::String(PyUpper(s));
}

Result<Value> FilterLower(Evaluator& ev, const Value& in, const CallArgs&) {
  TENET_ASSIGN_OR_RETURN(std::string s, Str(ev, in));
  return Value::String(PyLower(s));
}

Result<Value> FilterCapitalize(Evaluator& ev, const Value& in, const CallArgs&) {
  TENET_ASSIGN_OR_RETURN(std::string s, Str(ev, in));
  return Value::String(PyCapitalize(s));
}

// Jinja2's title filter (not str.title): words start after runs of whitespace, '-', '(', '{',
// '[' or '<'; each word's first character is upper-cased and the rest lower-cased.
Result<Value> FilterTitle(Evaluator& ev, const Value& in, const CallArgs&) {
  TENET_ASSIGN_OR_RETURN(std::string s, Str(ev, in));
  std::string out;
  bool word_start = true;
  for (char32_t c : DecodeUtf8(s)) {
    bool sep = IsPySpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (sep) {
      AppendUtf8(&out, c);
      word_start = true;
    } else {
      AppendUtf8(&out, word_start ? ToUpper(c) : ToLower(c));
      word_start = false;
    }
  }
  return Value::String(std::move(out));
}

Result<Value> FilterDefault(Evaluator&, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "default", {"default_value", "boolean"}));
  bool boolean = b.has(1) && Truthy(*b.get(1));
  if (in.is_undefined() || (boolean && !Truthy(in))) return b.has(0) ? *b.get(0) : Value::String("");
  return in;
}

Result<Value> FilterJoin(Evaluator& ev, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "join", {"d", "attribute"}));
  TENET_ASSIGN_OR_RETURN(std::string attr, AttributeArg(b.get(1), a.line));
  std::string sep;
  if (b.has(0)) {
    TENET_ASSIGN_OR_RETURN(sep, Str(ev, *b.get(0)));
  }
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    Value item = items[i];
    if (!attr.empty()) {
      TENET_ASSIGN_OR_RETURN(item, GetPath(item, attr, a.line));
    }
    TENET_RETURN_IF_ERROR(AppendStr(&out, item, ev.limit()));
  }
  return Value::String(std::move(out));
}

Result<Value> FilterFirst(Evaluator&, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  if (items.empty()) return Value::Undefined("No first item, sequence was empty.");
  return items.front();
}

Result<Value> FilterLast(Evaluator&, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  if (items.empty()) return Value::Undefined("No last item, sequence was empty.");
  return items.back();
}

Result<Value> FilterList(Evaluator&, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  return Value::List(std::move(items));
}

Result<Value> FilterString(Evaluator& ev, const Value& in, const CallArgs&) {
  TENET_ASSIGN_OR_RETURN(std::string s, Str(ev, in));
  return Value::String(std::move(s));
}

// Python float(str): surrounding whitespace allowed, underscores between digits, inf/nan.
bool ParseFloat(const std::string& s, double* out) {
  std::string t = PyStrip(s, nullptr, true, true);
  std::string clean;
  for (char c : t)
    if (c != '_') clean += c;
  if (clean.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(clean.c_str(), &end);
  return end == clean.c_str() + clean.size();
}

bool ParseInt(const std::string& s, int64_t base, int64_t* out) {
  std::string t = PyStrip(s, nullptr, true, true);
  std::string clean;
  for (char c : t)
    if (c != '_') clean += c;
  if (clean.empty() || clean.find_first_of(".eE") != std::string::npos) return false;
  char* end = nullptr;
  errno = 0;
  *out = std::strtoll(clean.c_str(), &end, static_cast<int>(base));
  return errno == 0 && end == clean.c_str() + clean.size();
}

Result<Value> FilterInt(Evaluator&, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "int", {"default", "base"}));
  Value dflt = b.has(0) ? *b.get(0) : Value::Int(0);
  int64_t base = b.has(1) && b.get(1)->is_integral() ? b.get(1)->int_value() : 10;
  if (in.is_undefined()) return UndefinedError(in, a.line);
  if (in.is_integral()) return Value::Int(in.int_value());
  double f;
  if (in.kind() == Value::Kind::kFloat) {
    f = in.float_value();
  } else if (in.is_string()) {
    int64_t i;
    if (ParseInt(in.str(), base, &i)) return Value::Int(i);
    if (!ParseFloat(in.str(), &f)) return dflt;
  } else {
    return dflt;
  }
  if (!std::isfinite(f) || std::fabs(f) >= 9.2e18) {
    return Status::InvalidArgument(Where(a.line), "cannot convert float " + PyReprFloat(f) + " to integer");
  }
  return Value::Int(static_cast<int64_t>(std::trunc(f)));
}

Result<Value> FilterFloat(Evaluator&, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "float", {"default"}));
  Value dflt = b.has(0) ? *b.get(0) : Value::Float(0.0);
  if (in.is_undefined()) return UndefinedError(in, a.line);
  if (in.is_number()) return Value::Float(in.float_value());
  double f;
  if (in.is_string() && ParseFloat(in.str(), &f)) return Value::Float(f);
  return dflt;
}

Result<Value> FilterReplace(Evaluator& ev, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "replace", {"old", "new", "count"}));
  if (!b.has(0) || !b.has(1)) return Status::InvalidArgument(Where(a.line), "replace() takes at least 2 arguments");
  TENET_ASSIGN_OR_RETURN(std::string s, Str(ev, in));
  CallArgs call;
  call.line = a.line;
  TENET_ASSIGN_OR_RETURN(std::string from, Str(ev, *b.get(0)));
  TENET_ASSIGN_OR_RETURN(std::string to, Str(ev, *b.get(1)));
  call.positional = {Value::String(from), Value::String(to)};
  if (b.has(2) && !b.get(2)->is_none()) call.positional.push_back(*b.get(2));
  TENET_ASSIGN_OR_RETURN(Value method, GetAttribute(Value::String(std::move(s)), "replace", a.line));
  return ev.Call(method, call);
}

Result<Value> FilterItems(Evaluator&, const Value& in, const CallArgs& a) {
  if (in.is_undefined()) return Value::List({});
  if (!in.is_dict()) return Status::InvalidArgument(Where(a.line), "can only get item pairs from a mapping");
  std::vector<Value> out;
  for (const auto& [k, v] : in.dict().entries) {
    TENET_ASSIGN_OR_RETURN(Value pair, Value::List({Value::String(k), v}, /*tuple=*/true));
    out.push_back(std::move(pair));
  }
  return Value::List(std::move(out));
}

// select/reject/selectattr/rejectattr share Jinja2's select_or_reject.
Result<Value> SelectOrReject(Evaluator& ev, const Value& in, const CallArgs& a, bool with_attr, bool keep_when) {
  size_t next = 0;
  std::string attr;
  if (with_attr) {
    if (a.positional.empty()) return Status::InvalidArgument(Where(a.line), "selectattr/rejectattr need an attribute");
    TENET_ASSIGN_OR_RETURN(attr, AttributeArg(&a.positional[0], a.line));
    next = 1;
  }
  std::string test;
  CallArgs test_args;
  test_args.line = a.line;
  if (next < a.positional.size()) {
    if (!a.positional[next].is_string()) return Status::InvalidArgument(Where(a.line), "test name must be a string");
    test = a.positional[next].str();
    if (!IsKnownTest(test)) return Status::Unimplemented(Where(a.line), "unsupported test '" + test + "'");
    test_args.positional.assign(a.positional.begin() + static_cast<long>(next) + 1, a.positional.end());
  }
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  TENET_RETURN_IF_ERROR(ev.Spend(items.size(), a.line));
  std::vector<Value> out;
  for (const Value& item : items) {
    Value subject = item;
    if (with_attr) {
      TENET_ASSIGN_OR_RETURN(subject, GetPath(item, attr, a.line));
    }
    bool r;
    if (test.empty()) {
      r = Truthy(subject);
    } else {
      TENET_ASSIGN_OR_RETURN(r, ApplyTest(ev, test, subject, test_args));
    }
    if (r == keep_when) out.push_back(item);
  }
  return Value::List(std::move(out));
}

Result<Value> FilterSelect(Evaluator& ev, const Value& in, const CallArgs& a) { return SelectOrReject(ev, in, a, false, true); }
Result<Value> FilterReject(Evaluator& ev, const Value& in, const CallArgs& a) { return SelectOrReject(ev, in, a, false, false); }
Result<Value> FilterSelectAttr(Evaluator& ev, const Value& in, const CallArgs& a) { return SelectOrReject(ev, in, a, true, true); }
Result<Value> FilterRejectAttr(Evaluator& ev, const Value& in, const CallArgs& a) { return SelectOrReject(ev, in, a, true, false); }

Result<Value> FilterMap(Evaluator& ev, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  TENET_RETURN_IF_ERROR(ev.Spend(items.size(), a.line));
  std::vector<Value> out;
  const Value* attribute = nullptr;
  const Value* dflt = nullptr;
  for (const auto& [k, v] : a.keywords) {
    if (k == "attribute") attribute = &v;
    else if (k == "default") dflt = &v;
    else return Status::InvalidArgument(Where(a.line), "map() got an unexpected keyword argument '" + k + "'");
  }
  if (attribute != nullptr) {
    TENET_ASSIGN_OR_RETURN(std::string attr, AttributeArg(attribute, a.line));
    for (const Value& item : items) {
      TENET_ASSIGN_OR_RETURN(Value v, GetPath(item, attr, a.line));
      out.push_back(v.is_undefined() && dflt != nullptr ? *dflt : v);
    }
    return Value::List(std::move(out));
  }
  if (a.positional.empty() || !a.positional[0].is_string()) {
    return Status::InvalidArgument(Where(a.line), "map() needs a filter name or attribute=");
  }
  const std::string& filter = a.positional[0].str();
  if (!IsKnownFilter(filter)) return Status::Unimplemented(Where(a.line), "unsupported filter '" + filter + "'");
  CallArgs fargs;
  fargs.line = a.line;
  fargs.positional.assign(a.positional.begin() + 1, a.positional.end());
  for (const Value& item : items) {
    TENET_ASSIGN_OR_RETURN(Value v, ApplyFilter(ev, filter, item, fargs));
    out.push_back(std::move(v));
  }
  return Value::List(std::move(out));
}

Result<Value> FilterReverse(Evaluator&, const Value& in, const CallArgs& a) {
  if (in.is_string()) {
    std::vector<char32_t> cps = DecodeUtf8(in.str());
    std::reverse(cps.begin(), cps.end());
    return Value::String(EncodeUtf8(cps, 0, cps.size()));
  }
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  std::reverse(items.begin(), items.end());
  return Value::List(std::move(items));
}

// Sort key for sort/unique/min/max: attribute lookup, then lower-casing unless case_sensitive.
Result<Value> SortKey(const Value& item, const std::string& attr, bool case_sensitive, int line) {
  Value v = item;
  if (!attr.empty()) {
    TENET_ASSIGN_OR_RETURN(v, GetPath(item, attr, line));
  }
  if (!case_sensitive && v.is_string()) return Value::String(PyLower(v.str()));
  return v;
}

Result<Value> FilterSort(Evaluator& ev, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "sort", {"reverse", "case_sensitive", "attribute"}));
  TENET_ASSIGN_OR_RETURN(std::string attr, AttributeArg(b.get(2), a.line));
  bool reverse = b.has(0) && Truthy(*b.get(0));
  bool cs = b.has(1) && Truthy(*b.get(1));
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  TENET_RETURN_IF_ERROR(ev.Spend(items.size() * 20, a.line));
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : items) {
    TENET_ASSIGN_OR_RETURN(Value k, SortKey(item, attr, cs, a.line));
    keyed.emplace_back(std::move(k), item);
  }
  Status err;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    auto c = reverse ? Compare(y.first, x.first) : Compare(x.first, y.first);
    if (!c.ok()) {
      if (err.ok()) err = c.status();
      return false;
    }
    return *c < 0;
  });
  if (!err.ok()) return err.WithContext(Where(a.line));
  std::vector<Value> out;
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  return Value::List(std::move(out));
}

Result<Value> FilterUnique(Evaluator& ev, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "unique", {"case_sensitive", "attribute"}));
  TENET_ASSIGN_OR_RETURN(std::string attr, AttributeArg(b.get(1), a.line));
  bool cs = b.has(0) && Truthy(*b.get(0));
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  TENET_RETURN_IF_ERROR(ev.Spend(items.size() * items.size() / 8 + 1, a.line));
  std::vector<Value> seen, out;
  for (const Value& item : items) {
    TENET_ASSIGN_OR_RETURN(Value k, SortKey(item, attr, cs, a.line));
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return Equals(s, k); })) continue;
    seen.push_back(k);
    out.push_back(item);
  }
  return Value::List(std::move(out));
}

Result<Value> MinMax(const Value& in, const CallArgs& a, bool want_max) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, want_max ? "max" : "min", {"case_sensitive", "attribute"}));
  TENET_ASSIGN_OR_RETURN(std::string attr, AttributeArg(b.get(1), a.line));
  bool cs = b.has(0) && Truthy(*b.get(0));
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  if (items.empty()) return Value::Undefined("No aggregated item, sequence was empty.");
  size_t best = 0;
  TENET_ASSIGN_OR_RETURN(Value best_key, SortKey(items[0], attr, cs, a.line));
  for (size_t i = 1; i < items.size(); ++i) {
    TENET_ASSIGN_OR_RETURN(Value k, SortKey(items[i], attr, cs, a.line));
    auto c = Compare(k, best_key);
    if (!c.ok()) return c.status().WithContext(Where(a.line));
    if (want_max ? *c > 0 : *c < 0) {
      best = i;
      best_key = k;
    }
  }
  return items[best];
}

Result<Value> FilterMin(Evaluator&, const Value& in, const CallArgs& a) { return MinMax(in, a, false); }
Result<Value> FilterMax(Evaluator&, const Value& in, const CallArgs& a) { return MinMax(in, a, true); }

Result<Value> FilterSum(Evaluator&, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "sum", {"attribute", "start"}));
  TENET_ASSIGN_OR_RETURN(std::string attr, AttributeArg(b.get(0), a.line));
  Value total = b.has(1) ? *b.get(1) : Value::Int(0);
  TENET_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(in, a.line));
  for (const Value& item : items) {
    Value v = item;
    if (!attr.empty()) {
      TENET_ASSIGN_OR_RETURN(v, GetPath(item, attr, a.line));
    }
    if (!v.is_number() || !total.is_number()) {
      return Status::InvalidArgument(Where(a.line), "sum() of '" + TypeName(total) + "' and '" + TypeName(v) + "'");
    }
    if (v.is_integral() && total.is_integral()) {
      int64_t r;
      if (__builtin_add_overflow(total.int_value(), v.int_value(), &r)) {
        return Status::InvalidArgument(Where(a.line), "integer overflow in sum()");
      }
      total = Value::Int(r);
    } else {
      total = Value::Float(total.float_value() + v.float_value());
    }
  }
  return total;
}

Result<Value> FilterAbs(Evaluator&, const Value& in, const CallArgs& a) {
  if (in.is_integral()) {
    if (in.int_value() == INT64_MIN) return Status::InvalidArgument(Where(a.line), "integer overflow in abs()");
    return Value::Int(in.int_value() < 0 ? -in.int_value() : in.int_value());
  }
  if (in.is_number()) return Value::Float(std::fabs(in.float_value()));
  return Status::InvalidArgument(Where(a.line), "bad operand type for abs(): '" + TypeName(in) + "'");
}

Result<Value> FilterRound(Evaluator&, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "round", {"precision", "method"}));
  if (!in.is_number()) return Status::InvalidArgument(Where(a.line), "round() needs a number");
  int64_t precision = b.has(0) && b.get(0)->is_integral() ? b.get(0)->int_value() : 0;
  std::string method = b.has(1) && b.get(1)->is_string() ? b.get(1)->str() : "common";
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = in.float_value() * scale;
  double r;
  if (method == "common") r = std::nearbyint(x);  // Python's round(): half to even
  else if (method == "ceil") r = std::ceil(x);
  else if (method == "floor") r = std::floor(x);
  else return Status::InvalidArgument(Where(a.line), "method must be common, ceil or floor");
  return Value::Float(r / scale);
}

// Jinja2's indent: indents every line but the first (unless first=True); blank lines stay
// unindented unless blank=True.
Result<Value> FilterIndent(Evaluator& ev, const Value& in, const CallArgs& a) {
  TENET_ASSIGN_OR_RETURN(BoundArgs b, BoundArgs::Bind(a, "indent", {"width", "first", "blank"}));
  std::string pad = "    ";
  if (b.has(0)) {
    if (b.get(0)->is_string()) {
      pad = b.get(0)->str();
    } else if (b.get(0)->is_integral()) {
      pad.assign(static_cast<size_t>(std::clamp<int64_t>(b.get(0)->int_value(), 0, 1024)), ' ');
    }
  }
  bool first = b.has(1) && Truthy(*b.get(1));
  bool blank = b.has(2) && Truthy(*b.get(2));
  TENET_ASSIGN_OR_RETURN(std::string s, Str(ev, in));
  s += "\n";
  // str.splitlines() boundaries.
  std::vector<std::string> lines;
  std::string cur;
  std::vector<char32_t> cps = DecodeUtf8(s);
  for (size_t i = 0; i < cps.size(); ++i) {
    char32_t c = cps[i];
    bool boundary = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
                    c == 0x2028 || c == 0x2029;
    if (!boundary) {
      AppendUtf8(&cur, c);
      continue;
    }
    if (c == '\r' && i + 1 < cps.size() && cps[i + 1] == '\n') ++i;
    lines.push_back(std::move(cur));
    cur.clear();
  }
  if (!cur.empty()) lines.push_back(std::move(cur));
  std::string rv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) rv += "\n";
    bool indent_line = i > 0 && (blank || !lines[i].empty());
    if (indent_line) rv += pad;
    rv += lines[i];
    if (rv.size() > ev.limit()) return Status::InvalidArgument(Where(a.line), "string exceeds the output limit");
  }
  if (first) rv = pad + rv;
  return Value::String(std::move(rv));
}

Result<Value> FilterAttr(Evaluator&, const Value& in, const CallArgs& a) {
  if (a.positional.size() != 1 || !a.positional[0].is_string()) {
    return Status::InvalidArgument(Where(a.line), "attr() takes one string argument");
  }
  return GetAttribute(in, a.positional[0].str(), a.line);
}

Result<Value> FilterSafe(Evaluator&, const Value& in, const CallArgs&) { return in; }

const std::map<std::string, FilterFn, std::less<>>& Filters() {
  static const std::map<std::string, FilterFn, std::less<>> k = {
      {"abs", FilterAbs},         {"attr", FilterAttr},         {"capitalize", FilterCapitalize},
      {"count", FilterLength},    {"d", FilterDefault},         {"default", FilterDefault},
      {"first", FilterFirst},     {"float", FilterFloat},       {"indent", FilterIndent},
      {"int", FilterInt},         {"items", FilterItems},       {"join", FilterJoin},
      {"last", FilterLast},       {"length", FilterLength},     {"list", FilterList},
      {"lower", FilterLower},     {"map", FilterMap},           {"max", FilterMax},
      {"min", FilterMin},         {"reject", FilterReject},     {"rejectattr", FilterRejectAttr},
      {"replace", FilterReplace}, {"reverse", FilterReverse},   {"round", FilterRound},
      {"safe", FilterSafe},       {"select", FilterSelect},     {"selectattr", FilterSelectAttr},
      {"sort", FilterSort},       {"string", FilterString},     {"sum", FilterSum},
      {"title", FilterTitle},     {"tojson", FilterToJson},     {"trim", FilterTrim},
      {"unique", FilterUnique},   {"upper", FilterUpper},
  };
  return k;
}

}  // namespace

bool IsKnownFilter(std::string_view name) { return Filters().count(name) > 0; }

Result<Value> ApplyFilter(Evaluator& ev, const std::string& name, const Value& input, const CallArgs& args) {
  auto it = Filters().find(name);
  if (it == Filters().end()) return Status::Unimplemented(Where(args.line), "unsupported filter '" + name + "'");
  return it->second(ev, input, args);
}

}  // namespace tenet::jinja
