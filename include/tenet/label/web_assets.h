// The portal's static files (web/), embedded into the binary at build time
// (cmake/embed_web.cmake writes the table).
#pragma once

#include <cstddef>
#include <string_view>

namespace tenet::label {

struct WebAsset {
  std::string_view name;  // file name in web/, e.g. "task.html"
  std::string_view content;
};

// nullptr when there is no such file.
const WebAsset* FindWebAsset(std::string_view name);

}  // namespace tenet::label
