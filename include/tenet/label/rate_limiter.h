// Sliding-window limit on failed sign-ins: at most `max_failures` per key within `window_s`.
// In memory (a restart forgets), thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

namespace tenet::label {

class RateLimiter {
 public:
  RateLimiter(int max_failures, int64_t window_s) : max_(max_failures), window_(window_s) {}
  // Whether `key` may try again at time `now`.
  bool Allowed(const std::string& key, int64_t now);
  void RecordFailure(const std::string& key, int64_t now);
  void Clear(const std::string& key);

 private:
  void Prune(std::deque<int64_t>& q, int64_t now) const;
  const int max_;
  const int64_t window_;
  std::mutex mu_;
  std::unordered_map<std::string, std::deque<int64_t>> failures_;
};

}  // namespace tenet::label
