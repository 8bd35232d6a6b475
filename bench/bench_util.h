// Helpers shared by the benchmarks: running a peer baseline script and reading its JSON.
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace tenet::bench {

// Runs `command` (a peer baseline that prints one JSON object) and parses its stdout; nullopt if
// it fails or prints no JSON.
inline std::optional<nlohmann::json> RunPeer(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
  if (::pclose(p) != 0) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

}  // namespace tenet::bench
