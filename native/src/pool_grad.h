// The backward rule of a 2×2 max-pool over ReLU outputs, shared by the pool kernel (pool.cc) and
// the whole CNN step (cnn_step.cc).
#pragma once
#include <cstdint>

namespace mn {

// One 2×2 window, all channels: the gradient g goes to the first maximum in row-major order
// (tfjs's rule), and only where that maximum — a ReLU output — is positive (ReluGrad); returns
// nothing, adds the gradient that got through to the bias sums.
inline void window2x2ReluGrad(const float* __restrict y00, const float* __restrict y01, const float* __restrict y10,
                              const float* __restrict y11, const float* __restrict g, float* __restrict d00,
                              float* __restrict d01, float* __restrict d10, float* __restrict d11,
                              float* __restrict sum, int64_t n) {
  // Branch-free 0/1 masks combined by arithmetic, not &: GCC 12 vectorises this loop only so.
  for (int64_t c = 0; c < n; ++c) {
    const float a = y00[c], b = y01[c], e = y10[c], f = y11[c];
    const float ab = a > b ? a : b, ef = e > f ? e : f;
    const float m = ab > ef ? ab : ef;
    const float gv = (m > 0.f ? 1.f : 0.f) * g[c];
    const float ha = a == m ? 1.f : 0.f;
    const float hb = (b == m ? 1.f : 0.f) * (1.f - ha);
    const float he = (e == m ? 1.f : 0.f) * (1.f - ha - hb);
    const float hf = 1.f - ha - hb - he;
    d00[c] = ha * gv;
    d01[c] = hb * gv;
    d10[c] = he * gv;
    d11[c] = hf * gv;
    sum[c] += gv;
  }
}

}  // namespace mn
