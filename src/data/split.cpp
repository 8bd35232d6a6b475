// Group splits. See tenet/data/split.h.
#include "tenet/data/split.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

namespace tenet {

uint64_t HashTokens(const std::vector<int32_t>& ids, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ (seed * 0x9e3779b97f4a7c15ull);
  for (int32_t id : ids) {
    for (int k = 0; k < 4; ++k) {
      h ^= static_cast<uint8_t>(static_cast<uint32_t>(id) >> (8 * k));
      h *= 1099511628211ull;
    }
  }
  return h;
}

std::vector<bool> HeldOutByGroup(const std::vector<std::vector<int32_t>>& keys, double fraction, uint64_t seed) {
  std::set<std::pair<uint64_t, std::vector<int32_t>>> groups;
  for (const auto& k : keys) groups.emplace(HashTokens(k, seed), k);
  const size_t n_test = static_cast<size_t>(std::llround(fraction * static_cast<double>(groups.size())));
  std::set<std::vector<int32_t>> test;
  for (auto it = groups.begin(); it != groups.end() && test.size() < n_test; ++it) test.insert(it->second);
  std::vector<bool> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(test.count(k) != 0);
  return out;
}

}  // namespace tenet
