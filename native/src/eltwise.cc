// Element-wise kernels: broadcasting binary ops over a collapsed (≤4-D) strided view, unary ops,
// and AddN. One contiguous chunk of the output per thread.
#include "common.h"
#include <algorithm>
#include <cmath>
#include <vector>

namespace mn {
namespace {

constexpr int64_t kGrain = 1 << 15;

struct Add { float operator()(float a, float b) const { return a + b; } };
struct Sub { float operator()(float a, float b) const { return a - b; } };
struct Mul { float operator()(float a, float b) const { return a * b; } };
struct Div { float operator()(float a, float b) const { return a / b; } };
struct Max { float operator()(float a, float b) const { return std::isnan(a) || std::isnan(b) ? NAN : (a > b ? a : b); } };
struct Min { float operator()(float a, float b) const { return std::isnan(a) || std::isnan(b) ? NAN : (a < b ? a : b); } };
struct SqDiff { float operator()(float a, float b) const { float d = a - b; return d * d; } };
// TensorFlow's ReluGrad(gradients, features): the gradient where the ReLU's output was positive.
struct ReluGrad { float operator()(float a, float b) const { return b > 0.f ? a : 0.f; } };

template <class Op>
void binaryRange(const float* a, const float* b, float* o, const int64_t* d, const int64_t* sa, const int64_t* sb,
                 int64_t begin, int64_t end) {
  Op op;
  int64_t i3 = begin % d[3], r = begin / d[3];
  int64_t i2 = r % d[2];
  r /= d[2];
  int64_t i1 = r % d[1], i0 = r / d[1];
  for (int64_t pos = begin; pos < end;) {
    int64_t len = std::min(d[3] - i3, end - pos);
    const float* pa = a + i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3];
    const float* pb = b + i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3];
    float* po = o + pos;
    if (sa[3] == 1 && sb[3] == 1) {
      for (int64_t j = 0; j < len; ++j) po[j] = op(pa[j], pb[j]);
    } else if (sa[3] == 1 && sb[3] == 0) {
      const float bv = *pb;
      for (int64_t j = 0; j < len; ++j) po[j] = op(pa[j], bv);
    } else if (sa[3] == 0 && sb[3] == 1) {
      const float av = *pa;
      for (int64_t j = 0; j < len; ++j) po[j] = op(av, pb[j]);
    } else {
      for (int64_t j = 0; j < len; ++j) po[j] = op(pa[j * sa[3]], pb[j * sb[3]]);
    }
    pos += len;
    i3 = 0;
    if (++i2 == d[2]) {
      i2 = 0;
      if (++i1 == d[1]) {
        i1 = 0;
        ++i0;
      }
    }
  }
}

template <class Op>
void binary(const float* a, const float* b, float* o, const int64_t* d, const int64_t* sa, const int64_t* sb) {
  int64_t n = d[0] * d[1] * d[2] * d[3];
  parallelRange(n, kGrain, [&](int64_t s, int64_t e) { binaryRange<Op>(a, b, o, d, sa, sb, s, e); });
}

void dims4(const Napi::Value& v, int64_t* out) {
  auto arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < 4; ++i) out[i] = i64(arr.Get(i));
}

// binary(op, a, b, out, dims[4], stridesA[4], stridesB[4])
Napi::Value Binary(const Napi::CallbackInfo& info) {
  int op = static_cast<int>(i64(info[0]));
  const float* a = floats(info[1]);
  const float* b = floats(info[2]);
  float* o = floats(info[3]);
  int64_t d[4], sa[4], sb[4];
  dims4(info[4], d);
  dims4(info[5], sa);
  dims4(info[6], sb);
  switch (op) {
    case 0: binary<Add>(a, b, o, d, sa, sb); break;
    case 1: binary<Sub>(a, b, o, d, sa, sb); break;
    case 2: binary<Mul>(a, b, o, d, sa, sb); break;
    case 3: binary<Div>(a, b, o, d, sa, sb); break;
    case 4: binary<Max>(a, b, o, d, sa, sb); break;
    case 5: binary<Min>(a, b, o, d, sa, sb); break;
    case 6: binary<SqDiff>(a, b, o, d, sa, sb); break;
    case 7: binary<ReluGrad>(a, b, o, d, sa, sb); break;
    default: throw Napi::Error::New(info.Env(), "unknown binary op");
  }
  return info.Env().Undefined();
}

template <class F>
void unary(const float* x, float* y, int64_t n, F f) {
  parallelRange(n, kGrain, [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) y[i] = f(x[i]);
  });
}

// TensorFlow.js's Step: 1 where x > 0, alpha elsewhere, NaN stays NaN.
void stepRange(const float* __restrict x, float* __restrict y, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float r = v > 0.f ? 1.f : alpha;
    y[i] = v != v ? v : r;
  }
}

// unary(op, x, out, n, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  int op = static_cast<int>(i64(info[0]));
  const float* x = floats(info[1]);
  float* y = floats(info[2]);
  int64_t n = i64(info[3]);
  float alpha = static_cast<float>(f64(info[4]));
  switch (op) {
    case 0: unary(x, y, n, [](float v) { return v < 0.f ? 0.f : v; }); break;
    case 1: unary(x, y, n, [](float v) { return std::sqrt(v); }); break;
    case 2: unary(x, y, n, [](float v) { return 1.f / std::sqrt(v); }); break;
    case 3: unary(x, y, n, [](float v) { return v * v; }); break;
    case 4: unary(x, y, n, [](float v) { return std::exp(v); }); break;
    case 5: unary(x, y, n, [](float v) { return std::log(v); }); break;
    case 6: unary(x, y, n, [](float v) { return -v; }); break;
    case 7: unary(x, y, n, [](float v) { return std::fabs(v); }); break;
    case 8:
      parallelRange(n, kGrain, [&](int64_t s, int64_t e) { stepRange(x + s, y + s, e - s, alpha); });
      break;
    case 9: unary(x, y, n, [](float v) { return 1.f / (1.f + std::exp(-v)); }); break;
    case 10: unary(x, y, n, [](float v) { return std::tanh(v); }); break;
    case 11: unary(x, y, n, [](float v) { return 1.f / v; }); break;
    case 12: unary(x, y, n, [](float v) { return v < 0.f ? 0.f : (v > 6.f ? 6.f : v); }); break;
    case 13: unary(x, y, n, [](float v) { return std::floor(v); }); break;
    default: throw Napi::Error::New(info.Env(), "unknown unary op");
  }
  return info.Env().Undefined();
}

// Sums in float over blocks of 64 rows (vectorisable across channels), folded into double per block.
void reluBiasGradRows(const float* __restrict dy, const float* __restrict y, float* __restrict dx,
                      double* __restrict db, int64_t r0, int64_t r1, int64_t channels) {
  std::vector<float> block(channels);
  float* __restrict acc = block.data();
  for (int64_t b0 = r0; b0 < r1; b0 += 64) {
    const int64_t b1 = std::min(r1, b0 + 64);
    std::fill(block.begin(), block.end(), 0.f);
    for (int64_t r = b0; r < b1; ++r) {
      const int64_t at = r * channels;
      for (int64_t c = 0; c < channels; ++c) {
        const float v = y[at + c] > 0.f ? dy[at + c] : 0.f;
        dx[at + c] = v;
        acc[c] += v;
      }
    }
    for (int64_t c = 0; c < channels; ++c) db[c] += acc[c];
  }
}

// reluBiasGrad(dy, y, dx, db, rows, channels): dx = ReluGrad(dy, y) and db[c] = Σ_r dx[r, c]
// (TensorFlow's BiasAddGrad over the last axis) in one pass over the gradient instead of two.
// Rows are split across threads, each summing into its own double accumulators.
Napi::Value ReluBiasGrad(const Napi::CallbackInfo& info) {
  const float* dy = floats(info[0]);
  const float* y = floats(info[1]);
  float* dx = floats(info[2]);
  float* db = floats(info[3]);
  int64_t rows = i64(info[4]), channels = i64(info[5]);
  int threads = rows * channels >= 2 * kGrain ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * channels, 0.0);
  double* acc = partial.data();
  if (threads == 1) {
    reluBiasGradRows(dy, y, dx, acc, 0, rows, channels);
  } else {
#pragma omp parallel num_threads(threads)
    {
      int nt = omp_get_num_threads(), t = omp_get_thread_num();
      reluBiasGradRows(dy, y, dx, acc + t * channels, rows * t / nt, rows * (t + 1) / nt, channels);
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0;
    for (int t = 0; t < threads; ++t) sum += acc[t * channels + c];
    db[c] = static_cast<float>(sum);
  }
  return info.Env().Undefined();
}

// addN([x0, x1, ...], out, n)
Napi::Value AddN(const Napi::CallbackInfo& info) {
  auto list = info[0].As<Napi::Array>();
  std::vector<const float*> xs;
  for (uint32_t i = 0; i < list.Length(); ++i) xs.push_back(floats(list.Get(i)));
  float* y = floats(info[1]);
  int64_t n = i64(info[2]);
  parallelRange(n, kGrain, [&](int64_t s, int64_t e) {
    const float* x0 = xs[0];
    for (int64_t i = s; i < e; ++i) y[i] = x0[i];
    for (size_t k = 1; k < xs.size(); ++k) {
      const float* xk = xs[k];
      for (int64_t i = s; i < e; ++i) y[i] += xk[i];
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void registerEltwise(Napi::Env env, Napi::Object exports) {
  exportEntry<Binary>(env, exports, "binary");
  exportEntry<Unary>(env, exports, "unary");
  exportEntry<AddN>(env, exports, "addN");
  exportEntry<ReluBiasGrad>(env, exports, "reluBiasGrad");
}

}  // namespace mn
