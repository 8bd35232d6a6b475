// Jinja runtime values with Python semantics. See value.h.
#include "value.h"

#include <algorithm>
#include <cmath>

#include "text.h"

namespace tenet::jinja {

namespace {

Status TooLarge(size_t limit) {
  return Status::InvalidArgument("chat template", "output exceeds " + std::to_string(limit) + " bytes");
}

Status TooDeep() {
  return Status::InvalidArgument("chat template",
                                 "value nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
}

}  // namespace

const Value* DictData::Find(std::string_view key) const {
  auto it = index.find(std::string(key));
  return it == index.end() ? nullptr : &entries[it->second].second;
}

void DictData::Set(const std::string& key, Value value) {
  auto it = index.find(key);
  if (it != index.end()) {
    entries[it->second].second = std::move(value);
    return;
  }
  index.emplace(key, entries.size());
  entries.emplace_back(key, std::move(value));
}

Value Value::Undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.ptr_ = std::make_shared<std::string>(std::move(hint));
  return v;
}

Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

Value Value::Float(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.f_ = f;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.ptr_ = std::make_shared<std::string>(std::move(s));
  return v;
}

Value Value::Func(std::string name, std::function<Result<Value>(Evaluator&, const CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.ptr_ = std::make_shared<Function>(Function{std::move(name), std::move(fn)});
  return v;
}

Result<Value> Value::List(std::vector<Value> items, bool tuple) {
  auto data = std::make_shared<ListData>();
  int depth = 0;
  for (const Value& x : items) depth = std::max(depth, x.depth());
  if (depth + 1 > kMaxValueDepth) return TooDeep();
  data->items = std::move(items);
  data->depth = depth + 1;
  data->tuple = tuple;
  Value v;
  v.kind_ = Kind::kList;
  v.ptr_ = std::move(data);
  return v;
}

Result<Value> Value::Dict(std::shared_ptr<DictData> data) {
  int depth = 0;
  for (const auto& [k, x] : data->entries) depth = std::max(depth, x.depth());
  if (depth + 1 > kMaxValueDepth) return TooDeep();
  data->depth = depth + 1;
  Value v;
  v.kind_ = Kind::kDict;
  v.ptr_ = std::move(data);
  return v;
}

Result<Value> Value::FromJson(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return None();
    case nlohmann::json::value_t::boolean: return Bool(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Int(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Float(static_cast<double>(u));
      return Int(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Float(j.get<double>());
    case nlohmann::json::value_t::string: return String(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& x : j) {
        TENET_ASSIGN_OR_RETURN(Value v, FromJson(x));
        if (v.depth() + 1 > kMaxValueDepth) return TooDeep();
        items.push_back(std::move(v));
      }
      return List(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      auto data = std::make_shared<DictData>();
      for (auto it = j.begin(); it != j.end(); ++it) {
        TENET_ASSIGN_OR_RETURN(Value v, FromJson(it.value()));
        if (v.depth() + 1 > kMaxValueDepth) return TooDeep();
        data->Set(it.key(), std::move(v));
      }
      return Dict(std::move(data));
    }
    default: return Status::InvalidArgument("chat template context", "unsupported JSON value (binary)");
  }
}

const std::string& Value::str() const { return *static_cast<const std::string*>(ptr_.get()); }

const std::string& Value::undefined_hint() const {
  static const std::string kEmpty;
  return ptr_ ? *static_cast<const std::string*>(ptr_.get()) : kEmpty;
}

const ListData& Value::list() const { return *static_cast<const ListData*>(ptr_.get()); }
const DictData& Value::dict() const { return *static_cast<const DictData*>(ptr_.get()); }
DictData& Value::mutable_namespace() const { return *static_cast<DictData*>(ptr_.get()); }
const Function& Value::function() const { return *static_cast<const Function*>(ptr_.get()); }

int Value::depth() const {
  if (kind_ == Kind::kList) return list().depth;
  if (kind_ == Kind::kDict) return dict().depth;
  return 0;
}

std::string TypeName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "Undefined";
    case Value::Kind::kNone: return "NoneType";
    case Value::Kind::kBool: return "bool";
    case Value::Kind::kInt: return "int";
    case Value::Kind::kFloat: return "float";
    case Value::Kind::kString: return "str";
    case Value::Kind::kList: return v.list().tuple ? "tuple" : "list";
    case Value::Kind::kDict: return v.dict().is_namespace ? "Namespace" : "dict";
    case Value::Kind::kFunction: return "function";
  }
  return "object";
}

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return false;
    case Value::Kind::kBool: return v.bool_value();
    case Value::Kind::kInt: return v.int_value() != 0;
    case Value::Kind::kFloat: return v.float_value() != 0.0;
    case Value::Kind::kString: return !v.str().empty();
    case Value::Kind::kList: return !v.list().items.empty();
    case Value::Kind::kDict: return v.dict().is_namespace || !v.dict().entries.empty();
    case Value::Kind::kFunction: return true;
  }
  return false;
}

bool Equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.int_value() == b.int_value();
    return a.float_value() == b.float_value();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone: return true;
    case Value::Kind::kString: return a.str() == b.str();
    case Value::Kind::kList: {
      const auto& x = a.list().items;
      const auto& y = b.list().items;
      if (x.size() != y.size() || a.list().tuple != b.list().tuple) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!Equals(x[i], y[i])) return false;
      return true;
    }
    case Value::Kind::kDict: {
      const DictData& x = a.dict();
      const DictData& y = b.dict();
      if (x.is_namespace || y.is_namespace) return &x == &y;
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x.entries) {
        const Value* other = y.Find(k);
        if (other == nullptr || !Equals(v, *other)) return false;
      }
      return true;
    }
    case Value::Kind::kFunction: return &a.function() == &b.function();
    default: return false;
  }
}

Result<int> Compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral())
      return a.int_value() < b.int_value() ? -1 : a.int_value() > b.int_value() ? 1 : 0;
    double x = a.float_value(), y = b.float_value();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.str().compare(b.str());  // byte order of UTF-8 is code point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list() && a.list().tuple == b.list().tuple) {
    const auto& x = a.list().items;
    const auto& y = b.list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (Equals(x[i], y[i])) continue;
      return Compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  return Status::InvalidArgument("chat template", "ordering not supported between instances of '" + TypeName(a) +
                                                      "' and '" + TypeName(b) + "'");
}

int CurrentDepth(const Value& v, const DictData* target, int limit) {
  int deepest = 0;
  if (v.is_list()) {
    for (const Value& x : v.list().items) {
      const int d = CurrentDepth(x, target, limit - 1);
      if (d < 0) return -1;
      deepest = std::max(deepest, d);
      if (deepest >= limit) break;
    }
  } else if (v.is_dict()) {
    if (&v.dict() == target) return -1;
    for (const auto& [k, x] : v.dict().entries) {
      const int d = CurrentDepth(x, target, limit - 1);
      if (d < 0) return -1;
      deepest = std::max(deepest, d);
      if (deepest >= limit) break;
    }
  } else {
    return 0;
  }
  return deepest + 1;
}

Status AppendRepr(std::string* out, const Value& v, size_t limit) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: *out += "Undefined"; break;
    case Value::Kind::kString: *out += PyReprString(v.str()); break;
    case Value::Kind::kList: {
      const ListData& l = v.list();
      *out += l.tuple ? '(' : '[';
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i > 0) *out += ", ";
        TENET_RETURN_IF_ERROR(AppendRepr(out, l.items[i], limit));
      }
      if (l.tuple && l.items.size() == 1) *out += ',';
      *out += l.tuple ? ')' : ']';
      break;
    }
    case Value::Kind::kDict: {
      const DictData& d = v.dict();
      if (d.is_namespace) *out += "<Namespace ";
      *out += '{';
      bool first = true;
      for (const auto& [k, x] : d.entries) {
        if (!first) *out += ", ";
        first = false;
        *out += PyReprString(k);
        *out += ": ";
        TENET_RETURN_IF_ERROR(AppendRepr(out, x, limit));
      }
      *out += '}';
      if (d.is_namespace) *out += '>';
      break;
    }
    default: return AppendStr(out, v, limit);
  }
  return out->size() > limit ? TooLarge(limit) : Status::OK();
}

Status AppendStr(std::string* out, const Value& v, size_t limit) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: break;
    case Value::Kind::kNone: *out += "None"; break;
    case Value::Kind::kBool: *out += v.bool_value() ? "True" : "False"; break;
    case Value::Kind::kInt: *out += std::to_string(v.int_value()); break;
    case Value::Kind::kFloat: *out += PyReprFloat(v.float_value()); break;
    case Value::Kind::kString: *out += v.str(); break;
    case Value::Kind::kFunction: *out += "<function " + v.function().name + ">"; break;
    default: return AppendRepr(out, v, limit);
  }
  return out->size() > limit ? TooLarge(limit) : Status::OK();
}

Result<std::string> ToStr(const Value& v, size_t limit) {
  if (v.is_string()) return v.str();
  std::string out;
  TENET_RETURN_IF_ERROR(AppendStr(&out, v, limit));
  return out;
}

namespace {

Status AppendJsonAt(std::string* out, const Value& v, const JsonOptions& o, int level, size_t limit) {
  const bool pretty = o.indent >= 0;
  const std::string item_sep = o.custom_separators ? o.item_sep : pretty ? "," : ", ";
  const std::string key_sep = o.custom_separators ? o.key_sep : ": ";
  auto newline = [&](int lvl) {
    if (!pretty) return;
    *out += '\n';
    out->append(static_cast<size_t>(o.indent) * static_cast<size_t>(lvl), ' ');
  };
  switch (v.kind()) {
    case Value::Kind::kNone: *out += "null"; break;
    case Value::Kind::kBool: *out += v.bool_value() ? "true" : "false"; break;
    case Value::Kind::kInt: *out += std::to_string(v.int_value()); break;
    case Value::Kind::kFloat: {
      double f = v.float_value();
      *out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity") : PyReprFloat(f);
      break;
    }
    case Value::Kind::kString: AppendJsonString(out, v.str()); break;
    case Value::Kind::kList: {
      const auto& items = v.list().items;
      if (items.empty()) {
        *out += "[]";
        break;
      }
      *out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) *out += item_sep;
        newline(level + 1);
        TENET_RETURN_IF_ERROR(AppendJsonAt(out, items[i], o, level + 1, limit));
      }
      newline(level);
      *out += ']';
      break;
    }
    case Value::Kind::kDict: {
      const DictData& d = v.dict();
      if (d.entries.empty()) {
        *out += "{}";
        break;
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : d.entries) entries.push_back(&e);
      if (o.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      *out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) *out += item_sep;
        newline(level + 1);
        AppendJsonString(out, entries[i]->first);
        *out += key_sep;
        TENET_RETURN_IF_ERROR(AppendJsonAt(out, entries[i]->second, o, level + 1, limit));
      }
      newline(level);
      *out += '}';
      break;
    }
    case Value::Kind::kUndefined:
      return Status::InvalidArgument("chat template", "Object of type Undefined is not JSON serializable");
    case Value::Kind::kFunction:
      return Status::InvalidArgument("chat template", "Object of type function is not JSON serializable");
  }
  return out->size() > limit ? TooLarge(limit) : Status::OK();
}

}  // namespace

Status AppendJson(std::string* out, const Value& v, const JsonOptions& opts, size_t limit) {
  return AppendJsonAt(out, v, opts, 0, limit);
}

}  // namespace tenet::jinja
