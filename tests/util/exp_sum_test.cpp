// ExpSubSum (tenet/util/exp_sum.h): exp(x - max) within 2e-7 relative of libm's double exp, exactly 0
// below -87 and for NaN, every tail length (the AVX-512 path handles the last 1-31 lanes under
// masks), in place and sum-only, and the sum of what it stores.
#include "tenet/util/exp_sum.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace tenet {
namespace {

using Fn = float (*)(const float*, size_t, float, float*);
class ExpSubSumTest : public ::testing::TestWithParam<Fn> {};

TEST_P(ExpSubSumTest, MatchesLibmOnEveryLengthInPlaceAndSumOnly) {
  const Fn exp_sub_sum = GetParam();
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-90.0f, 5.0f);
  for (size_t n = 0; n <= 70; ++n) {
    std::vector<float> x(n);
    for (float& v : x) v = dist(rng);
    const float max = 5.0f;
    std::vector<float> out(n + 1, -1.0f);  // one guard element past the end
    const float sum = exp_sub_sum(x.data(), n, max, out.data());
    double want_sum = 0, got_sum = 0;
    for (size_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(x[i]) - max;
      const double want = d < -87.0 ? 0.0 : std::exp(static_cast<double>(x[i] - max));
      if (want == 0.0) {
        EXPECT_EQ(out[i], 0.0f) << "n " << n << " i " << i << " x " << x[i];
      } else {
        EXPECT_NEAR(out[i], want, 2e-7 * want) << "n " << n << " i " << i << " x " << x[i];
      }
      want_sum += want;
      got_sum += out[i];
    }
    EXPECT_EQ(out[n], -1.0f) << "wrote past the end, n " << n;
    EXPECT_NEAR(sum, got_sum, 1e-6 * (1 + got_sum)) << n;
    EXPECT_NEAR(sum, want_sum, 1e-6 * (1 + want_sum)) << n;
    EXPECT_FLOAT_EQ(exp_sub_sum(x.data(), n, max, nullptr), sum) << n;
    std::vector<float> y = x;
    exp_sub_sum(y.data(), n, max, y.data());  // in place
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(y[i], out[i]);
  }
}

TEST_P(ExpSubSumTest, ZeroBelowTheRangeAndForNaNAndMinusInfinity) {
  const Fn exp_sub_sum = GetParam();
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {0.0f, -87.5f, -inf, nan, std::numeric_limits<float>::lowest(), -1.0f, -86.9f};
  std::vector<float> out(x.size());
  const float sum = exp_sub_sum(x.data(), x.size(), 0.0f, out.data());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[3], 0.0f);
  EXPECT_EQ(out[4], 0.0f);
  EXPECT_NEAR(out[5], std::exp(-1.0), 2e-7);
  EXPECT_GT(out[6], 0.0f);
  EXPECT_NEAR(sum, 1.0 + std::exp(-1.0) + std::exp(-86.9), 1e-6);
}

// The dispatching entry (AVX-512 where the CPU has it) and the portable loop.
INSTANTIATE_TEST_SUITE_P(Paths, ExpSubSumTest, ::testing::Values(&ExpSubSum, &detail::ExpSubSumPortable),
                         [](const auto& info) { return info.index == 0 ? "dispatched" : "portable"; });

}  // namespace
}  // namespace tenet
