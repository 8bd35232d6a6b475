// config.json parsing and writing. See tenet/io/model_config.h.
#include "tenet/io/model_config.h"

#include "tenet/util/file.h"

namespace tenet {

namespace {

using json = nlohmann::json;

// Reads an optional integer key; error if present with the wrong type or not positive.
Status GetPositiveInt(const json& j, const char* key, int64_t* out, bool required, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) {
    return required ? Status::InvalidArgument(origin, std::string("missing required key \"") + key + "\"") : Status::OK();
  }
  if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0) {
    return Status::InvalidArgument(origin, std::string("\"") + key + "\" must be a positive integer, got " + j[key].dump());
  }
  *out = j[key].get<int64_t>();
  return Status::OK();
}

Status GetNumber(const json& j, const char* key, double* out, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return Status::OK();
  if (!j[key].is_number() || j[key].get<double>() <= 0) {
    return Status::InvalidArgument(origin, std::string("\"") + key + "\" must be a positive number, got " + j[key].dump());
  }
  *out = j[key].get<double>();
  return Status::OK();
}

Status GetBool(const json& j, const char* key, bool* out, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return Status::OK();
  if (!j[key].is_boolean()) return Status::InvalidArgument(origin, std::string("\"") + key + "\" must be true or false");
  *out = j[key].get<bool>();
  return Status::OK();
}

// rope_scaling (transformers <= 4.x) or rope_parameters (transformers 5): same keys, the latter
// may also carry rope_theta.
Status ParseRope(const json& r, const std::string& key, ModelConfig* c, const std::string& origin) {
  if (r.is_null()) return Status::OK();
  const std::string where = origin + ": " + key;
  if (!r.is_object()) return Status::InvalidArgument(where, "must be an object or null");
  std::string type = "default";
  for (const char* k : {"rope_type", "type"}) {
    if (r.contains(k) && r[k].is_string()) {
      type = r[k].get<std::string>();
      break;
    }
  }
  TENET_RETURN_IF_ERROR(GetNumber(r, "rope_theta", &c->rope_theta, where));
  RopeScaling s;
  s.type = type;
  if (type == "default") {
    c->rope_scaling = s;
    return Status::OK();
  }
  if (type != "llama3" && type != "linear") {
    return Status::Unimplemented(where, "rope type \"" + type + "\" is not supported (supported: default, linear, llama3)");
  }
  if (!r.contains("factor")) return Status::InvalidArgument(where, "rope type \"" + type + "\" needs \"factor\"");
  TENET_RETURN_IF_ERROR(GetNumber(r, "factor", &s.factor, where));
  if (type == "llama3") {
    for (const char* k : {"low_freq_factor", "high_freq_factor", "original_max_position_embeddings"}) {
      if (!r.contains(k)) return Status::InvalidArgument(where, std::string("rope type \"llama3\" needs \"") + k + "\"");
    }
    TENET_RETURN_IF_ERROR(GetNumber(r, "low_freq_factor", &s.low_freq_factor, where));
    TENET_RETURN_IF_ERROR(GetNumber(r, "high_freq_factor", &s.high_freq_factor, where));
    TENET_RETURN_IF_ERROR(GetPositiveInt(r, "original_max_position_embeddings", &s.original_max_position_embeddings, true, where));
    if (s.high_freq_factor <= s.low_freq_factor) {
      return Status::InvalidArgument(where, "high_freq_factor must be greater than low_freq_factor");
    }
  }
  c->rope_scaling = s;
  return Status::OK();
}

}  // namespace

Result<torch::ScalarType> ParseDtypeName(const std::string& name) {
  if (name == "float32" || name == "fp32" || name == "float") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  if (name == "float16" || name == "fp16" || name == "half") return torch::kFloat16;
  return Status::InvalidArgument("dtype \"" + name + "\"", "expected float32, bfloat16 or float16");
}

std::string DtypeName(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: return c10::toString(t);
  }
}

Result<ModelConfig> ParseModelConfig(std::string_view json_text, const std::string& origin) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(origin, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return Status::InvalidArgument(origin, "must be a JSON object");
  ModelConfig c;
  c.raw = j;
  if (j.contains("architectures")) {
    const json& a = j["architectures"];
    if (!a.is_array() || a.empty() || !a[0].is_string()) {
      return Status::InvalidArgument(origin, "\"architectures\" must be a non-empty list of strings");
    }
    c.architecture = a[0].get<std::string>();
  }
  if (j.contains("model_type") && j["model_type"].is_string()) c.model_type = j["model_type"].get<std::string>();
  if (c.architecture == "LlamaForCausalLM" || c.architecture == "MistralForCausalLM") {
  } else if (c.architecture == "Qwen2ForCausalLM") {
    c.qkv_bias = true;
  } else {
    return Status::Unimplemented(origin, "architecture \"" + c.architecture +
                                             "\" is not supported (supported: LlamaForCausalLM, MistralForCausalLM, "
                                             "Qwen2ForCausalLM)");
  }
  if (j.contains("hidden_act") && j["hidden_act"] != "silu") {
    return Status::Unimplemented(origin, "hidden_act " + j["hidden_act"].dump() + " is not supported (only \"silu\")");
  }
  TENET_RETURN_IF_ERROR(GetPositiveInt(j, "vocab_size", &c.vocab_size, true, origin));
  TENET_RETURN_IF_ERROR(GetPositiveInt(j, "hidden_size", &c.hidden_size, true, origin));
  TENET_RETURN_IF_ERROR(GetPositiveInt(j, "intermediate_size", &c.intermediate_size, true, origin));
  TENET_RETURN_IF_ERROR(GetPositiveInt(j, "num_hidden_layers", &c.num_hidden_layers, true, origin));
  TENET_RETURN_IF_ERROR(GetPositiveInt(j, "num_attention_heads", &c.num_attention_heads, true, origin));
  c.num_key_value_heads = c.num_attention_heads;
  TENET_RETURN_IF_ERROR(GetPositiveInt(j, "num_key_value_heads", &c.num_key_value_heads, false, origin));
  TENET_RETURN_IF_ERROR(GetPositiveInt(j, "max_position_embeddings", &c.max_position_embeddings, false, origin));
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    TENET_RETURN_IF_ERROR(GetPositiveInt(j, "head_dim", &c.head_dim, true, origin));
  } else {
    if (c.hidden_size % c.num_attention_heads != 0) {
      return Status::InvalidArgument(origin, "hidden_size must be divisible by num_attention_heads (or give head_dim)");
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  if (c.head_dim % 2 != 0) return Status::InvalidArgument(origin, "head_dim must be even for rotary embeddings");
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return Status::InvalidArgument(origin, "num_attention_heads must be a multiple of num_key_value_heads");
  }
  TENET_RETURN_IF_ERROR(GetNumber(j, "rms_norm_eps", &c.rms_norm_eps, origin));
  TENET_RETURN_IF_ERROR(GetNumber(j, "rope_theta", &c.rope_theta, origin));
  if (j.contains("rope_scaling")) TENET_RETURN_IF_ERROR(ParseRope(j["rope_scaling"], "rope_scaling", &c, origin));
  if (j.contains("rope_parameters")) TENET_RETURN_IF_ERROR(ParseRope(j["rope_parameters"], "rope_parameters", &c, origin));
  TENET_RETURN_IF_ERROR(GetBool(j, "tie_word_embeddings", &c.tie_word_embeddings, origin));
  bool attention_bias = false;
  TENET_RETURN_IF_ERROR(GetBool(j, "attention_bias", &attention_bias, origin));
  if (c.architecture != "Qwen2ForCausalLM" && attention_bias) c.qkv_bias = c.o_bias = true;
  TENET_RETURN_IF_ERROR(GetBool(j, "mlp_bias", &c.mlp_bias, origin));
  for (const char* key : {"torch_dtype", "dtype"}) {
    if (j.contains(key) && j[key].is_string()) {
      auto dt = ParseDtypeName(j[key].get<std::string>());
      if (!dt.ok()) return dt.status().WithContext(origin + ": \"" + key + "\"");
      c.dtype = *dt;
    }
  }
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bos_token_id = j["bos_token_id"].get<int64_t>();
  if (j.contains("eos_token_id")) {
    const json& e = j["eos_token_id"];
    if (e.is_number_integer()) {
      c.eos_token_ids.push_back(e.get<int64_t>());
    } else if (e.is_array()) {
      for (const json& x : e) {
        if (!x.is_number_integer()) return Status::InvalidArgument(origin, "\"eos_token_id\" list must hold integers");
        c.eos_token_ids.push_back(x.get<int64_t>());
      }
    } else if (!e.is_null()) {
      return Status::InvalidArgument(origin, "\"eos_token_id\" must be an integer or a list of integers");
    }
  }
  return c;
}

Result<ModelConfig> LoadModelConfig(const std::string& path) {
  TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseModelConfig(text, path);
}

json ModelConfigToJson(const ModelConfig& c) {
  json j = c.raw.is_object() ? c.raw : json::object();
  j["architectures"] = {c.architecture};
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.architecture != "Qwen2ForCausalLM") j["attention_bias"] = c.qkv_bias;
  j["mlp_bias"] = c.mlp_bias;
  j["torch_dtype"] = DtypeName(c.dtype);
  if (c.rope_scaling.type == "default") {
    j["rope_scaling"] = nullptr;
  } else {
    json r = {{"rope_type", c.rope_scaling.type}, {"factor", c.rope_scaling.factor}};
    if (c.rope_scaling.type == "llama3") {
      r["low_freq_factor"] = c.rope_scaling.low_freq_factor;
      r["high_freq_factor"] = c.rope_scaling.high_freq_factor;
      r["original_max_position_embeddings"] = c.rope_scaling.original_max_position_embeddings;
    }
    j["rope_scaling"] = r;
  }
  j.erase("rope_parameters");  // rope_scaling + rope_theta carry the same information
  if (c.bos_token_id) j["bos_token_id"] = *c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  else if (!c.eos_token_ids.empty()) j["eos_token_id"] = c.eos_token_ids;
  return j;
}

}  // namespace tenet
