// Deterministic train/test splits by group: every example of one group (a prompt) lands on the
// same side, and which groups are held out depends only on the groups' tokens and the seed, never
// on line order or platform.
#pragma once

#include <cstdint>
#include <vector>

namespace tenet {

// FNV-1a over the seed and the ids: a stable, platform-independent hash.
uint64_t HashTokens(const std::vector<int32_t>& ids, uint64_t seed);

// For each example's group key, whether it is held out: round(fraction * distinct keys) keys with
// the smallest seeded hashes. fraction in [0, 1).
std::vector<bool> HeldOutByGroup(const std::vector<std::vector<int32_t>>& keys, double fraction, uint64_t seed);

}  // namespace tenet
