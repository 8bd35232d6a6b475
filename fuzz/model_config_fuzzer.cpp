// Fuzz target: a model folder's config.json through ParseModelConfig, and back to JSON.
#include <cstdint>
#include <string_view>

#include "tenet/io/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto cfg = tenet::ParseModelConfig(std::string_view(reinterpret_cast<const char*>(data), size), "config.json");
  if (cfg.ok()) (void)tenet::ModelConfigToJson(*cfg).dump();
  return 0;
}
