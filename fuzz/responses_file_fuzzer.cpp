// Fuzz target: the responses file (`tenet generate` output, `label job create --responses`, the
// admin API's responses_jsonl) through label::ParseResponses, then the job checks.
#include <cstdint>
#include <string_view>

#include "tenet/label/jobs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto items = tenet::label::ParseResponses(std::string_view(reinterpret_cast<const char*>(data), size), "responses.jsonl");
  if (items.ok()) {
    tenet::label::JobSpec spec;
    spec.name = "fuzz";
    (void)tenet::label::ValidateJobSpec(spec);
  }
  return 0;
}
