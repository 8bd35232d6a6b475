// A vectorizable exp for softmax-style loops: exp(x) for x <= 0 (a value minus its row's max).
// Shared by the samplers (src/generate) and the output-head log-probs (src/model).
#pragma once

#include <bit>
#include <cstdint>

namespace tenet {

// exp(x) for x <= 0 (logit minus the row max), Cephes expf's range reduction and polynomial
// (S. L. Moshier, Cephes Math Library, expf.c): relative error below 1e-7 on [-87, 0], exactly 1
// at 0 and exactly 0 below -87 (so -inf gives 0). Written with integer selects instead of float
// compares so that GCC vectorizes the loops that call it without -ffast-math: libm's expf is
// ~3x slower on a 128k row, and having our own exp also keeps draws identical across libms.
inline float FastExp(float x) {
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  const uint32_t magnitude = bits & 0x7fffffffu;
  constexpr uint32_t kLimitBits = 0x42ae0000u;        // 87.0f
  constexpr uint32_t kMinusLimitBits = 0xc2ae0000u;   // -87.0f
  const uint32_t in_range = 0u - static_cast<uint32_t>(magnitude <= kLimitBits);  // all ones or 0
  const float xc = std::bit_cast<float>((bits & in_range) | (kMinusLimitBits & ~in_range));
  // Round-to-nearest by the 1.5 * 2^23 trick (valid for |t| < 2^22): roundps needs SSE4.1.
  const float t = xc * 1.44269504088896341f;
  const float fi = (t + 12582912.0f) - 12582912.0f;
  const float r = (xc - fi * 0.693359375f) - fi * -2.12194440e-4f;  // ln 2 split in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(fi) + 127) << 23);
  return std::bit_cast<float>(std::bit_cast<uint32_t>(e * scale) & in_range);
}

}  // namespace tenet
