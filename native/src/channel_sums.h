// Per-channel sums over the rows of channels-last maps, shared by the batch-norm kernels and the
// whole CNN step: float accumulators over blocks of 64 rows (vectorisable across channels), each
// block folded into double so that long sums keep their precision.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

namespace mn {

// Over rows [r0, r1): sum[c] += Σ a(i, c) and, unless sum2 is null, sum2[c] += Σ b(i, c), where i
// is the element's index (r·channels + c).
template <typename A, typename B>
void channelSums(int64_t r0, int64_t r1, int64_t channels, double* __restrict sum, double* __restrict sum2, A a, B b) {
  std::vector<float> block(2 * channels);
  float* __restrict s = block.data();
  float* __restrict s2 = s + channels;
  for (int64_t b0 = r0; b0 < r1; b0 += 64) {
    const int64_t b1 = std::min(r1, b0 + 64);
    std::fill(block.begin(), block.end(), 0.f);
    for (int64_t r = b0; r < b1; ++r) {
      const int64_t at = r * channels;
      if (sum2) {
        for (int64_t c = 0; c < channels; ++c) {
          s[c] += a(at + c, c);
          s2[c] += b(at + c, c);
        }
      } else {
        for (int64_t c = 0; c < channels; ++c) s[c] += a(at + c, c);
      }
    }
    for (int64_t c = 0; c < channels; ++c) {
      sum[c] += s[c];
      if (sum2) sum2[c] += s2[c];
    }
  }
}

}  // namespace mn
