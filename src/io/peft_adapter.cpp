// PEFT adapter folders. See tenet/io/peft_adapter.h.
#include "tenet/io/peft_adapter.h"

#include <cmath>
#include <regex>

#include "tenet/io/safetensors.h"
#include "tenet/util/file.h"

namespace tenet {

namespace {
using json = nlohmann::json;
constexpr const char* kPrefix = "base_model.model.";


// io/ compiles as C++17 too: the fuzz build's clang cannot read LibTorch 1.13's headers as C++20.
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// PEFT matches pattern keys against the module path by suffix ("q_proj" or "layers.0.self_attn.q_proj").
template <typename T>
const T* MatchPattern(const std::map<std::string, T>& patterns, const std::string& path) {
  for (const auto& [key, value] : patterns) {
    if (path == key || EndsWith(path, "." + key)) return &value;
  }
  return nullptr;
}
}  // namespace

Result<LoraConfig> ParseLoraConfig(std::string_view json_text, const std::string& origin) {
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(origin, "not a JSON object");
  LoraConfig c;
  c.raw = j;
  if (j.value("peft_type", std::string("LORA")) != "LORA") {
    return Status::Unimplemented(origin, "peft_type " + j["peft_type"].dump() + " is not supported (only LORA)");
  }
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() <= 0) {
    return Status::InvalidArgument(origin, "\"r\" must be a positive integer");
  }
  c.r = j["r"].get<int64_t>();
  c.lora_alpha = static_cast<double>(c.r);
  if (j.contains("lora_alpha")) {
    if (!j["lora_alpha"].is_number()) return Status::InvalidArgument(origin, "\"lora_alpha\" must be a number");
    c.lora_alpha = j["lora_alpha"].get<double>();
  }
  if (j.contains("lora_dropout") && !j["lora_dropout"].is_null()) {
    if (!j["lora_dropout"].is_number() || j["lora_dropout"].get<double>() < 0 || j["lora_dropout"].get<double>() >= 1) {
      return Status::InvalidArgument(origin, "\"lora_dropout\" must be in [0, 1)");
    }
    c.lora_dropout = j["lora_dropout"].get<double>();
  }
  c.use_rslora = j.value("use_rslora", false);
  if (j.contains("target_modules")) {
    const json& t = j["target_modules"];
    if (t.is_string()) {
      c.target_regex = t.get<std::string>();
    } else if (t.is_array()) {
      for (const json& m : t) {
        if (!m.is_string()) return Status::InvalidArgument(origin, "\"target_modules\" must hold strings");
        c.target_modules.push_back(m.get<std::string>());
      }
    }
  }
  if (j.value("use_dora", false)) return Status::Unimplemented(origin, "use_dora (DoRA adapters) is not supported");
  if (j.value("fan_in_fan_out", false)) return Status::Unimplemented(origin, "fan_in_fan_out=true is not supported");
  if (j.contains("bias") && j["bias"] != "none") {
    return Status::Unimplemented(origin, "bias " + j["bias"].dump() + " is not supported (only \"none\")");
  }
  if (j.contains("modules_to_save") && !j["modules_to_save"].is_null() && !j["modules_to_save"].empty()) {
    return Status::Unimplemented(origin, "modules_to_save is not supported");
  }
  if (j.contains("alpha_pattern") && j["alpha_pattern"].is_object()) {
    for (auto it = j["alpha_pattern"].begin(); it != j["alpha_pattern"].end(); ++it) {
      if (!it.value().is_number()) return Status::InvalidArgument(origin, "alpha_pattern values must be numbers");
      c.alpha_pattern[it.key()] = it.value().get<double>();
    }
  }
  if (j.contains("rank_pattern") && j["rank_pattern"].is_object()) {
    for (auto it = j["rank_pattern"].begin(); it != j["rank_pattern"].end(); ++it) {
      if (!it.value().is_number_integer()) return Status::InvalidArgument(origin, "rank_pattern values must be integers");
      c.rank_pattern[it.key()] = it.value().get<int64_t>();
    }
  }
  if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string()) {
    c.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
  }
  return c;
}

json LoraConfigToJson(const LoraConfig& c) {
  json j = c.raw.is_object() ? c.raw : json::object();
  j["peft_type"] = "LORA";
  j["task_type"] = "CAUSAL_LM";
  j["r"] = c.r;
  j["lora_alpha"] = c.lora_alpha;
  j["lora_dropout"] = c.lora_dropout;
  j["use_rslora"] = c.use_rslora;
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["use_dora"] = false;
  j["inference_mode"] = true;
  j["modules_to_save"] = nullptr;
  if (!c.target_regex.empty()) j["target_modules"] = c.target_regex;
  else j["target_modules"] = c.target_modules;
  j["alpha_pattern"] = c.alpha_pattern;
  j["rank_pattern"] = c.rank_pattern;
  j["base_model_name_or_path"] = c.base_model_name_or_path;
  return j;
}

double LoraScale(const LoraConfig& c, const std::string& path, int64_t rank) {
  double alpha = c.lora_alpha;
  if (const double* a = MatchPattern(c.alpha_pattern, path)) alpha = *a;
  return c.use_rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / static_cast<double>(rank);
}

Result<LoraAdapter> LoadPeftAdapter(const std::string& dir) {
  if (!IsDirectory(dir)) return Status::NotFound(dir, "no such adapter folder");
  const std::string cfg_path = JoinPath(dir, "adapter_config.json");
  TENET_ASSIGN_OR_RETURN(std::string text, ReadFile(cfg_path));
  LoraAdapter out;
  TENET_ASSIGN_OR_RETURN(out.config, ParseLoraConfig(text, cfg_path));
  const std::string w_path = JoinPath(dir, "adapter_model.safetensors");
  if (!FileExists(w_path) && FileExists(JoinPath(dir, "adapter_model.bin"))) {
    return Status::Unimplemented(dir, "adapter_model.bin (pickled) is not loaded: save the adapter with safe_serialization");
  }
  TENET_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(w_path));
  std::map<std::string, LoraModule> modules;
  for (const TensorInfo& t : file->tensors()) {
    std::string name = t.name;
    if (name.rfind(kPrefix, 0) != 0) return Status::InvalidArgument(w_path, "key '" + name + "' lacks the PEFT prefix base_model.model.");
    name = name.substr(std::char_traits<char>::length(kPrefix));
    // Some PEFT versions keep the adapter name: "...lora_A.default.weight".
    for (const char* ab : {".lora_A", ".lora_B"}) {
      auto pos = name.find(std::string(ab) + ".default.weight");
      if (pos != std::string::npos) name = name.substr(0, pos) + ab + ".weight";
    }
    bool is_a = EndsWith(name, ".lora_A.weight"), is_b = EndsWith(name, ".lora_B.weight");
    if (!is_a && !is_b) {
      if (name.find("lora_embedding") != std::string::npos) {
        return Status::Unimplemented(w_path, "embedding adapters ('" + t.name + "') are not supported");
      }
      return Status::InvalidArgument(w_path, "unexpected key '" + t.name + "' (expected lora_A/lora_B weights)");
    }
    if (t.shape.size() != 2) return Status::InvalidArgument(w_path, "'" + t.name + "' must be 2-D");
    std::string path = name.substr(0, name.size() - std::string(".lora_A.weight").size());
    torch::Tensor v = file->Get(t).clone();  // own the memory: adapters are small and may be trained
    (is_a ? modules[path].a : modules[path].b) = v;
  }
  for (auto& [path, m] : modules) {
    if (!m.a.defined() || !m.b.defined()) {
      return Status::InvalidArgument(w_path, "module '" + path + "' has only one of lora_A and lora_B");
    }
    if (m.a.size(0) != m.b.size(1)) {
      return Status::InvalidArgument(w_path, "module '" + path + "': lora_A rank " + std::to_string(m.a.size(0)) +
                                                 " != lora_B rank " + std::to_string(m.b.size(1)));
    }
  }
  if (modules.empty()) return Status::InvalidArgument(w_path, "holds no LoRA weights");
  out.modules = std::move(modules);
  return out;
}

Status SavePeftAdapter(const std::string& dir, const LoraAdapter& adapter) {
  TENET_RETURN_IF_ERROR(MakeDirs(dir));
  NamedTensors tensors;
  for (const auto& [path, m] : adapter.modules) {
    tensors.emplace_back(kPrefix + path + ".lora_A.weight", m.a);
    tensors.emplace_back(kPrefix + path + ".lora_B.weight", m.b);
  }
  TENET_RETURN_IF_ERROR(SaveSafetensors(JoinPath(dir, "adapter_model.safetensors"), tensors));
  return WriteFileAtomic(JoinPath(dir, "adapter_config.json"), LoraConfigToJson(adapter.config).dump(2) + "\n");
}

}  // namespace tenet
