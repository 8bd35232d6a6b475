// Failed sign-in limits. See tenet/label/rate_limiter.h.
#include "tenet/label/rate_limiter.h"

namespace tenet::label {

void RateLimiter::Prune(std::deque<int64_t>& q, int64_t now) const {
  while (!q.empty() && q.front() <= now - window_) q.pop_front();
}

bool RateLimiter::Allowed(const std::string& key, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return true;
  Prune(it->second, now);
  if (it->second.empty()) {
    failures_.erase(it);
    return true;
  }
  return static_cast<int>(it->second.size()) < max_;
}

void RateLimiter::RecordFailure(const std::string& key, int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  std::deque<int64_t>& q = failures_[key];
  Prune(q, now);
  q.push_back(now);
}

void RateLimiter::Clear(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

}  // namespace tenet::label
