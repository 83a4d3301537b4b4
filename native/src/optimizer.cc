// Fused optimizer updates: one pass over a variable instead of five to ten tensor ops.
// They update their arrays in place; the caller guarantees nothing else aliases them.
#include "common.h"
#include <cmath>

namespace mn {
namespace {

constexpr int64_t kGrain = 1 << 15;

// The optional trailing argument of every update: an L2 coefficient λ folded into the gradient
// (g + λ·w, the gradient of λ·Σw²/2) so the training loop need not differentiate its L2 term.
float decayArg(const Napi::CallbackInfo& info, size_t index) {
  return info.Length() > index && info[index].IsNumber() ? static_cast<float>(f64(info[index])) : 0.f;
}

// The loops of the updates take their arrays as __restrict pointers and their coefficients by value:
// written inline in a lambda that captures by reference, GCC had to assume every store could change
// a coefficient and did not vectorise (Adam over 3.2 M values: 11–13 ms on one thread).
void sgdRange(float* __restrict w, const float* __restrict g, int64_t s, int64_t e, float lr, float decay) {
  if (decay == 0.f) {
    for (int64_t i = s; i < e; ++i) w[i] -= lr * g[i];
  } else {
    for (int64_t i = s; i < e; ++i) w[i] -= lr * (g[i] + decay * w[i]);
  }
}

void movingAverageRange(float* __restrict s, const float* __restrict v, int64_t begin, int64_t end, float a) {
  for (int64_t i = begin; i < end; ++i) s[i] -= a * (s[i] - v[i]);
}

void momentumRange(float* __restrict w, const float* __restrict g, float* __restrict a, int64_t s, int64_t e,
                   float lr, float mu, bool nesterov, float decay) {
  for (int64_t i = s; i < e; ++i) {
    float gi = g[i] + decay * w[i];
    float acc = a[i] * mu + gi;
    a[i] = acc;
    w[i] -= nesterov ? lr * (gi + acc * mu) : lr * acc;
  }
}

struct AdamCoefficients {
  float lr, b1, b2, eps, c1, c2, decay;
};

void adamRange(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t s,
               int64_t e, AdamCoefficients k) {
  const float oneMinusB1 = 1.f - k.b1, oneMinusB2 = 1.f - k.b2;
  for (int64_t i = s; i < e; ++i) {
    float gi = g[i] + k.decay * w[i];
    float mi = m[i] * k.b1 + gi * oneMinusB1;
    float vi = v[i] * k.b2 + gi * gi * oneMinusB2;
    m[i] = mi;
    v[i] = vi;
    w[i] -= k.lr * (mi * k.c1) / (std::sqrt(vi * k.c2) + k.eps);
  }
}

// Runs update(begin, end) over [0, n) in parallel chunks. With a decay, each 4096-value block's
// Σw²/2 is taken just before the block is updated (while it is in cache), so the caller gets the
// L2 term of the weights the gradient was computed at without a second pass; returned as a number
// (0 without a decay).
template <typename Update>
Napi::Value updateInPlace(Napi::Env env, const float* w, int64_t n, float decay, Update&& update) {
  if (decay == 0.f) {
    parallelRange(n, kGrain, update);
    return Napi::Number::New(env, 0);
  }
  double half = parallelSum(n, kGrain, [&](int64_t s, int64_t e) {
    double part = 0;
    for (int64_t b = s; b < e; b += 4096) {
      int64_t be = std::min(e, b + 4096);
      part += halfSumSquares(w + b, be - b);
      update(b, be);
    }
    return part;
  });
  return Napi::Number::New(env, half);
}

// sgd(var, grad, n, lr[, decay]): var -= lr * (grad + decay * var); returns Σvar²/2 before the
// update when decay is given (see updateInPlace), else 0.
Napi::Value Sgd(const Napi::CallbackInfo& info) {
  float* w = floats(info[0]);
  const float* g = floats(info[1]);
  int64_t n = i64(info[2]);
  float lr = static_cast<float>(f64(info[3]));
  float decay = decayArg(info, 4);
  return updateInPlace(info.Env(), w, n, decay, [=](int64_t s, int64_t e) { sgdRange(w, g, s, e, lr, decay); });
}

// movingAverage(shadow, var, n, oneMinusDecay): shadow -= (1 - decay) * (shadow - var), as
// TensorFlow's assign_moving_average writes it.
Napi::Value MovingAverage(const Napi::CallbackInfo& info) {
  float* s = floats(info[0]);
  const float* v = floats(info[1]);
  int64_t n = i64(info[2]);
  float a = static_cast<float>(f64(info[3]));
  parallelRange(n, kGrain, [=](int64_t b, int64_t e) { movingAverageRange(s, v, b, e, a); });
  return info.Env().Undefined();
}

// momentum(var, grad, accum, n, lr, momentum, nesterov[, decay]): TensorFlow's MomentumOptimizer;
// returns like sgd.
Napi::Value Momentum(const Napi::CallbackInfo& info) {
  float* w = floats(info[0]);
  const float* g = floats(info[1]);
  float* a = floats(info[2]);
  int64_t n = i64(info[3]);
  float lr = static_cast<float>(f64(info[4])), mu = static_cast<float>(f64(info[5]));
  bool nesterov = flag(info[6]);
  float decay = decayArg(info, 7);
  return updateInPlace(info.Env(), w, n, decay, [=](int64_t s, int64_t e) {
    momentumRange(w, g, a, s, e, lr, mu, nesterov, decay);
  });
}

// adam(var, grad, m, v, n, lr, beta1, beta2, epsilon, 1/(1-beta1^t), 1/(1-beta2^t)[, decay]): the
// update of TensorFlow.js's AdamOptimizer (bias-corrected moments, epsilon added after the square
// root); returns like sgd.
Napi::Value Adam(const Napi::CallbackInfo& info) {
  float* w = floats(info[0]);
  const float* g = floats(info[1]);
  float* m = floats(info[2]);
  float* v = floats(info[3]);
  int64_t n = i64(info[4]);
  float lr = static_cast<float>(f64(info[5])), b1 = static_cast<float>(f64(info[6]));
  float b2 = static_cast<float>(f64(info[7])), eps = static_cast<float>(f64(info[8]));
  float c1 = static_cast<float>(f64(info[9])), c2 = static_cast<float>(f64(info[10]));
  float decay = decayArg(info, 11);
  AdamCoefficients k{lr, b1, b2, eps, c1, c2, decay};
  return updateInPlace(info.Env(), w, n, decay, [=](int64_t s, int64_t e) { adamRange(w, g, m, v, s, e, k); });
}

}  // namespace

void registerOptimizer(Napi::Env env, Napi::Object exports) {
  exportEntry<Sgd>(env, exports, "sgd");
  exportEntry<Momentum>(env, exports, "momentum");
  exportEntry<MovingAverage>(env, exports, "movingAverage");
  exportEntry<Adam>(env, exports, "adam");
}

}  // namespace mn
