// Fuzz target: a serving.properties file (tenet serve --config) through ParseServingProperties.
#include <cstdint>
#include <string_view>

#include "tenet/serve/serving_properties.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> kFlags = {"model", "port", "adapter", "max-batch", "dtype", "config"};
  auto r = tenet::serve::ParseServingProperties(std::string_view(reinterpret_cast<const char*>(data), size), "serving.properties", kFlags);
  (void)r.ok();
  return 0;
}
