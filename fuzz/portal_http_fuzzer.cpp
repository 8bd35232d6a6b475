// Fuzz target: raw bytes of one client connection to the labeling portal (request lines,
// methods, paths, headers, cookies, bodies, pipelined requests) through the real HTTP layer and
// router. See portal_harness.h for the credential markers.
#include <cstdint>

#include "portal_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tenet::fuzz::Portal().Serve(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
