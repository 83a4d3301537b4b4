// The whole CNN step's first layer — 5×5 filters, 24 or 32 channels, on 1-channel images, then
// ReLU and a 2×2 max-pool — on CPUs with AVX-512 (checked at run time; the addon's baseline is
// AVX2). VALID convolutions; the step pads the images itself for SAME ones.
#pragma once
#include "pool_grad.h"
#include <cstdint>
#include <cstdlib>
#include <string>

namespace mn {
// The first layer for 24 channels and 5×5 filters on CPUs with AVX-512 (checked at run time; the
// addon's baseline is AVX2): direct loops over GCC vector types, 24 channels = 16 + 8 lanes.
//  - forward: conv + bias + ReLU and the 2×2 max-pool in one pass (y1 is still written: the
//    backward pass reads it);
//  - backward: from the pooled gradient through the pool and the ReLU straight into the filter and
//    bias gradients, without materialising the pre-activation gradient (a 4× larger map).
namespace avx512 {

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));
constexpr int kK = 5;
#define MN_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,prefer-vector-width=512")))

// C channels in registers: 16 lanes + the rest (8 for 24 channels, 16 for 32). Spelled out per C:
// a vector typedef passed as a template argument loses its aligned(4) (unaligned loads) attribute.
template <int C>
struct Ch;
template <>
struct Ch<24> {
  using Hi = v8;
  v16 lo;
  v8 hi;
};
template <>
struct Ch<32> {
  using Hi = v16;
  v16 lo;
  v16 hi;
};
template <int C>
MN_AVX512 inline Ch<C> load(const float* p) {
  using Hi = typename Ch<C>::Hi;
  return {*reinterpret_cast<const v16*>(p), *reinterpret_cast<const Hi*>(p + 16)};
}
template <int C>
MN_AVX512 inline void store(float* p, const Ch<C>& v) {
  *reinterpret_cast<v16*>(p) = v.lo;
  *reinterpret_cast<typename Ch<C>::Hi*>(p + 16) = v.hi;
}
template <int C>
MN_AVX512 inline void fma(Ch<C>& acc, float a, const Ch<C>& w) {
  acc.lo += a * w.lo;
  acc.hi += a * w.hi;
}
template <int C>
MN_AVX512 inline Ch<C> relu(const Ch<C>& v) {
  const v16 z16 = {};
  const typename Ch<C>::Hi zHi = {};
  return {v.lo > z16 ? v.lo : z16, v.hi > zHi ? v.hi : zHi};
}
template <int C>
MN_AVX512 inline Ch<C> max(const Ch<C>& a, const Ch<C>& b) {
  return {a.lo > b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi};
}

// x [n, h, h], w [5·5, C] (HWIO), b [C] → y [n, oh, oh, C] = relu(conv + b), p = its 2×2 max-pool.
template <int kC>
MN_AVX512 inline void convPoolForward(const float* __restrict x, const float* __restrict w, const float* __restrict b,
                               float* __restrict y, float* __restrict p, int64_t n, int64_t h) {
  const int64_t oh = h - kK + 1, ph = oh / 2;
  const Ch<kC> bias = load<kC>(b);
  for (int64_t img = 0; img < n; ++img) {
    const float* xi = x + img * h * h;
    for (int64_t py = 0; py < ph; ++py)
      for (int64_t px = 0; px < ph; ++px) {
        Ch<kC> a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        const float* x0 = xi + (2 * py) * h + 2 * px;
        for (int ky = 0; ky < kK; ++ky) {
          const float* r0 = x0 + ky * h;
          const float* r1 = r0 + h;
#pragma GCC unroll 5
          for (int kx = 0; kx < kK; ++kx) {
            const Ch<kC> wt = load<kC>(w + (ky * kK + kx) * kC);
            fma(a0, r0[kx], wt);
            fma(a1, r0[kx + 1], wt);
            fma(a2, r1[kx], wt);
            fma(a3, r1[kx + 1], wt);
          }
        }
        float* y00 = y + ((img * oh + 2 * py) * oh + 2 * px) * kC;
        float* y10 = y00 + oh * kC;
        const Ch<kC> q0 = relu<kC>(a0), q1 = relu<kC>(a1), q2 = relu<kC>(a2), q3 = relu<kC>(a3);
        store(y00, q0);
        store(y00 + kC, q1);
        store(y10, q2);
        store(y10 + kC, q3);
        store(p + ((img * ph + py) * ph + px) * kC, max<kC>(max<kC>(q0, q1), max<kC>(q2, q3)));
      }
  }
}

// From dp [n, ph, ph, C] (the pooled gradient) through the pool and ReLU of y: dw [5·5, 24] and
// db [24] (both overwritten). `rowScratch` holds ph·4·24 floats: one pooled row's routed gradients.
template <int kC>
MN_AVX512 inline void convPoolBackward(const float* __restrict x, const float* __restrict y, const float* __restrict dp,
                                float* __restrict dw, float* __restrict db, float* __restrict rowScratch, int64_t n,
                                int64_t h) {
  const int64_t oh = h - kK + 1, ph = oh / 2;
  Ch<kC> acc[kK * kK];
  for (auto& a : acc) a = Ch<kC>{v16{}, typename Ch<kC>::Hi{}};
  float biasSum[kC] = {};
  for (int64_t img = 0; img < n; ++img) {
    const float* xi = x + img * h * h;
    for (int64_t py = 0; py < ph; ++py) {
      // The gradient each of the window's four pixels gets: the first maximum, if positive.
      for (int64_t px = 0; px < ph; ++px) {
        const float* y00 = y + ((img * oh + 2 * py) * oh + 2 * px) * kC;
        const float* y10 = y00 + oh * kC;
        const float* g = dp + ((img * ph + py) * ph + px) * kC;
        float* G = rowScratch + px * 4 * kC;
        window2x2ReluGrad(y00, y00 + kC, y10, y10 + kC, g, G, G + kC, G + 2 * kC, G + 3 * kC, biasSum, kC);
      }
      for (int ky = 0; ky < kK; ++ky) {
        Ch<kC>* row = acc + ky * kK;
        Ch<kC> r0 = row[0], r1 = row[1], r2 = row[2], r3 = row[3], r4 = row[4];
        for (int64_t px = 0; px < ph; ++px) {
          const float* G = rowScratch + px * 4 * kC;
          for (int q = 0; q < 4; ++q) {
            const Ch<kC> gq = load<kC>(G + q * kC);
            const float* xr = xi + (2 * py + (q >> 1) + ky) * h + 2 * px + (q & 1);
            fma(r0, xr[0], gq);
            fma(r1, xr[1], gq);
            fma(r2, xr[2], gq);
            fma(r3, xr[3], gq);
            fma(r4, xr[4], gq);
          }
        }
        row[0] = r0;
        row[1] = r1;
        row[2] = r2;
        row[3] = r3;
        row[4] = r4;
      }
    }
  }
  for (int t = 0; t < kK * kK; ++t) store(dw + t * kC, acc[t]);
  for (int c = 0; c < kC; ++c) db[c] = biasSum[c];
}

inline bool usable(int64_t k, int64_t channels) {
  static const bool avx512 = (__builtin_cpu_init(), true) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  const char* off = getenv("MNIST_CNN_STEP_DIRECT");  // 0: oneDNN for the first layer too (A/B timing)
  // MNIST_CPU_ISA=avx2 (src/backend/addon.ts) caps oneDNN through DNNL_MAX_CPU_ISA: cap these too.
  const char* cap = getenv("DNNL_MAX_CPU_ISA");
  const bool capped = cap && std::string(cap).find("AVX512") != 0;
  return avx512 && !capped && (channels == 24 || channels == 32) && k == kK && !(off && off[0] == '0');
}

}  // namespace avx512

}  // namespace mn
