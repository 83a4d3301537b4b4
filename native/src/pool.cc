// Max pooling, NHWC, TensorFlow.js semantics: padding never wins, ties go to the first element
// in row-major window order. Work is split by batch (or by channel blocks for batch 1).
#include "common.h"
#include "pool_grad.h"
#include <cmath>
#include <limits>
#include <vector>

namespace mn {
namespace {

struct Pool {
  int64_t n, h, w, c, fh, fw, oh, ow, sh, sw, dh, dw, pt, pl;
  static Pool from(const Napi::CallbackInfo& info, int at) {
    Pool p;
    int64_t* f = &p.n;
    for (int i = 0; i < 14; ++i) f[i] = i64(info[at + i]);
    return p;
  }
  // First and one-past-last input row/col covered by output row/col `o` (same rule as tfjs).
  void rows(int64_t oy, int64_t& lo, int64_t& hi) const { range(oy, sh, dh, fh, pt, h, lo, hi); }
  void cols(int64_t ox, int64_t& lo, int64_t& hi) const { range(ox, sw, dw, fw, pl, w, lo, hi); }
  static void range(int64_t o, int64_t s, int64_t d, int64_t f, int64_t pad, int64_t size, int64_t& lo,
                    int64_t& hi) {
    int64_t corner = o * s - pad;
    lo = corner;
    while (lo < 0) lo += d;
    hi = std::min(size, (f - 1) * d + 1 + corner);
  }
};

// __restrict helpers: without them GCC cannot prove the channel loops alias-free and leaves them
// scalar (5x slower).
inline void windowMax(const float* __restrict in, float* __restrict best, int64_t n) {
  for (int64_t c = 0; c < n; ++c) best[c] = in[c] > best[c] ? in[c] : best[c];
}
inline void takeFirstMax(const float* __restrict in, const float* __restrict best, const float* __restrict g,
                         float* __restrict out, float* __restrict taken, int64_t n) {
  for (int64_t c = 0; c < n; ++c) {
    const float hit = (taken[c] == 0.f) & (in[c] == best[c]) ? 1.f : 0.f;
    out[c] += hit * g[c];
    taken[c] += hit;
  }
}

// Runs body(b, c0, c1) over batch items, or over channel blocks when there is one image.
template <typename F>
void splitWork(const Pool& p, F&& body) {
  if (p.n > 1) {
    parallelRange(p.n, p.n * p.h * p.w * p.c >= 65536 ? 1 : p.n, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) body(b, int64_t(0), p.c);
    });
  } else {
    int64_t blocks = (p.c + 15) / 16;
    parallelRange(blocks, p.h * p.w * p.c >= 65536 ? 1 : blocks, [&](int64_t k0, int64_t k1) {
      body(int64_t(0), k0 * 16, std::min(p.c, k1 * 16));
    });
  }
}

Napi::Value MaxPool(const Napi::CallbackInfo& info) {
  const float* x = floats(info[0]);
  float* y = floats(info[1]);
  Pool p = Pool::from(info, 2);
  splitWork(p, [&](int64_t b, int64_t c0, int64_t c1) {
    const float* xb = x + b * p.h * p.w * p.c;
    for (int64_t oy = 0; oy < p.oh; ++oy) {
      int64_t r0, r1;
      p.rows(oy, r0, r1);
      for (int64_t ox = 0; ox < p.ow; ++ox) {
        int64_t q0, q1;
        p.cols(ox, q0, q1);
        float* out = y + ((b * p.oh + oy) * p.ow + ox) * p.c;
        for (int64_t c = c0; c < c1; ++c) out[c] = -std::numeric_limits<float>::infinity();
        for (int64_t r = r0; r < r1; r += p.dh)
          for (int64_t q = q0; q < q1; q += p.dw) windowMax(xb + (r * p.w + q) * p.c + c0, out + c0, c1 - c0);
      }
    }
  });
  return info.Env().Undefined();
}

// maxPoolGrad(dy, x, dx, ...geometry): dx is fully overwritten.
Napi::Value MaxPoolGrad(const Napi::CallbackInfo& info) {
  const float* dy = floats(info[0]);
  const float* x = floats(info[1]);
  float* dx = floats(info[2]);
  Pool p = Pool::from(info, 3);
  splitWork(p, [&](int64_t b, int64_t c0, int64_t c1) {
    const float* xb = x + b * p.h * p.w * p.c;
    float* dxb = dx + b * p.h * p.w * p.c;
    for (int64_t i = 0; i < p.h * p.w; ++i)
      for (int64_t c = c0; c < c1; ++c) dxb[i * p.c + c] = 0.f;
    // Two vectorisable passes per window: the maximum, then the first pixel equal to it (the one
    // tfjs's strict > scan would pick) takes the gradient.
    const int64_t width = c1 - c0;
    std::vector<float> bestBuf(width), takenBuf(width);
    float* best = bestBuf.data();
    float* taken = takenBuf.data();
    for (int64_t oy = 0; oy < p.oh; ++oy) {
      int64_t r0, r1;
      p.rows(oy, r0, r1);
      for (int64_t ox = 0; ox < p.ow; ++ox) {
        int64_t q0, q1;
        p.cols(ox, q0, q1);
        for (int64_t c = 0; c < width; ++c) {
          best[c] = -std::numeric_limits<float>::infinity();
          taken[c] = 0.f;
        }
        for (int64_t r = r0; r < r1; r += p.dh)
          for (int64_t q = q0; q < q1; q += p.dw) windowMax(xb + (r * p.w + q) * p.c + c0, best, width);
        const float* g = dy + ((b * p.oh + oy) * p.ow + ox) * p.c + c0;
        for (int64_t r = r0; r < r1; r += p.dh)
          for (int64_t q = q0; q < q1; q += p.dw) {
            const int64_t at = (r * p.w + q) * p.c + c0;
            takeFirstMax(xb + at, best, g, dxb + at, taken, width);
          }
      }
    }
  });
  return info.Env().Undefined();
}

// maxPool2x2ReluBiasGrad(dy, y, dx, db, n, h, w, c): through a 2×2 stride-2 VALID max-pool of y =
// relu(pre-activation), [n, h, w, c] NHWC, back to the pre-activation: dx = ReluGrad(MaxPoolGrad(dy,
// y), y) (an odd last row or column, outside every window, gets 0), and the bias gradient db[c] =
// Σ dx[..., c]. Three kernels and two full-size intermediate arrays in one pass; images are split
// across threads, each summing into its own double accumulators.
Napi::Value MaxPool2x2ReluBiasGrad(const Napi::CallbackInfo& info) {
  const float* dy = floats(info[0]);
  const float* y = floats(info[1]);
  float* dx = floats(info[2]);
  float* db = floats(info[3]);
  const int64_t n = i64(info[4]), h = i64(info[5]), w = i64(info[6]), c = i64(info[7]);
  const int64_t oh = h / 2, ow = w / 2;
  const int threads = n > 1 && n * h * w * c >= 65536 ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * c, 0.0);
  auto images = [&](int64_t b0, int64_t b1, double* acc) {
    std::vector<float> rowSum(c);
    for (int64_t b = b0; b < b1; ++b) {
      const float* yb = y + b * h * w * c;
      float* db_ = dx + b * h * w * c;
      for (int64_t oy = 0; oy < oh; ++oy) {
        std::fill(rowSum.begin(), rowSum.end(), 0.f);
        for (int64_t ox = 0; ox < ow; ++ox) {
          const int64_t at = ((2 * oy) * w + 2 * ox) * c, below = at + w * c;
          window2x2ReluGrad(yb + at, yb + at + c, yb + below, yb + below + c, dy + ((b * oh + oy) * ow + ox) * c,
                            db_ + at, db_ + at + c, db_ + below, db_ + below + c, rowSum.data(), c);
        }
        if (w % 2) {
          std::fill_n(db_ + ((2 * oy) * w + w - 1) * c, c, 0.f);
          std::fill_n(db_ + ((2 * oy + 1) * w + w - 1) * c, c, 0.f);
        }
        for (int64_t k = 0; k < c; ++k) acc[k] += rowSum[k];
      }
      if (h % 2) std::fill_n(db_ + (h - 1) * w * c, w * c, 0.f);
    }
  };
  if (threads == 1) {
    images(0, n, partial.data());
  } else {
#pragma omp parallel num_threads(threads)
    {
      int nt = omp_get_num_threads(), t = omp_get_thread_num();
      images(n * t / nt, n * (t + 1) / nt, partial.data() + t * c);
    }
  }
  for (int64_t k = 0; k < c; ++k) {
    double total = 0;
    for (int t = 0; t < threads; ++t) total += partial[t * c + k];
    db[k] = static_cast<float>(total);
  }
  return info.Env().Undefined();
}

}  // namespace

void registerPool(Napi::Env env, Napi::Object exports) {
  exportEntry<MaxPool>(env, exports, "maxPool");
  exportEntry<MaxPoolGrad>(env, exports, "maxPoolGrad");
  exportEntry<MaxPool2x2ReluBiasGrad>(env, exports, "maxPool2x2ReluBiasGrad");
}

}  // namespace mn
