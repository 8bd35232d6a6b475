// Fuzz target: a .safetensors file through SafetensorsFile::Open (header, offsets, dtypes,
// shapes), then every tensor it accepts is materialized and its first and last bytes read.
#include <cstdint>

#include "fuzz_util.h"
#include "tenet/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tenet::fuzz::WriteInput("model.safetensors", data, size);
  auto file = tenet::SafetensorsFile::Open(path);
  if (!file.ok()) return 0;
  volatile uint8_t sink = 0;
  for (const tenet::TensorInfo& info : (*file)->tensors()) {
    torch::Tensor t = (*file)->Get(info);
    if (t.nbytes() == 0) continue;
    const auto* bytes = static_cast<const uint8_t*>(t.data_ptr());
    sink = sink ^ bytes[0] ^ bytes[t.nbytes() - 1];
  }
  (void)(*file)->metadata().size();
  return 0;
}
