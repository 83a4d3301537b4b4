// Batch normalisation over the last axis (NHWC channels) for training on the gradient tape: the
// forward pass with the batch's statistics and its backward pass, each a few passes over the map
// with per-thread per-channel sums instead of TensorFlow.js's dozen element-wise ops.
#include "common.h"
#include "channel_sums.h"
#include <cmath>

namespace mn {
namespace {

// Runs channelSums over all rows, split between threads; returns the totals in sum/sum2.
template <typename A, typename B>
void allChannelSums(int64_t rows, int64_t channels, std::vector<double>& sum, std::vector<double>& sum2, A a, B b) {
  const int threads = rows * channels >= 2 * (1 << 15) ? omp_get_max_threads() : 1;
  std::vector<double> partial(static_cast<size_t>(threads) * 2 * channels, 0.0);
  if (threads == 1) {
    channelSums(0, rows, channels, partial.data(), partial.data() + channels, a, b);
  } else {
#pragma omp parallel num_threads(threads)
    {
      const int nt = omp_get_num_threads(), t = omp_get_thread_num();
      double* p = partial.data() + static_cast<size_t>(t) * 2 * channels;
      channelSums(rows * t / nt, rows * (t + 1) / nt, channels, p, p + channels, a, b);
    }
  }
  sum.assign(channels, 0.0);
  sum2.assign(channels, 0.0);
  for (int t = 0; t < threads; ++t)
    for (int64_t c = 0; c < channels; ++c) {
      sum[c] += partial[static_cast<size_t>(t) * 2 * channels + c];
      sum2[c] += partial[static_cast<size_t>(t) * 2 * channels + channels + c];
    }
}

// batchNormTrain(x, scale, offset, y, mean, variance, rows, channels, epsilon): mean and (biased)
// variance of each channel over the rows, y = (x − mean)/√(variance + ε)·scale + offset.
Napi::Value BatchNormTrain(const Napi::CallbackInfo& info) {
  const float* x = floats(info[0]);
  const float* scale = floats(info[1]);
  const float* offset = floats(info[2]);
  float* y = floats(info[3]);
  float* meanOut = floats(info[4]);
  float* varianceOut = floats(info[5]);
  const int64_t rows = i64(info[6]), channels = i64(info[7]);
  const double epsilon = f64(info[8]);
  // Shifted by the first row, so E[(x−k)²] − E[x−k]² does not cancel for maps far from zero.
  std::vector<float> shift(x, x + channels);
  const float* k = shift.data();
  std::vector<double> sum, sum2;
  allChannelSums(rows, channels, sum, sum2,
                 [&](int64_t i, int64_t c) { return x[i] - k[c]; },
                 [&](int64_t i, int64_t c) { const float d = x[i] - k[c]; return d * d; });
  std::vector<float> mul(channels), add(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const double shiftedMean = sum[c] / rows;
    const double mean = k[c] + shiftedMean;
    const double variance = std::max(0.0, sum2[c] / rows - shiftedMean * shiftedMean);
    meanOut[c] = static_cast<float>(mean);
    varianceOut[c] = static_cast<float>(variance);
    const double m = scale[c] / std::sqrt(variance + epsilon);
    mul[c] = static_cast<float>(m);
    add[c] = static_cast<float>(offset[c] - mean * m);
  }
  const float* __restrict mu = mul.data();
  const float* __restrict ad = add.data();
  parallelRange(rows, std::max<int64_t>(1, (1 << 15) / channels), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* __restrict xr = x + r * channels;
      float* __restrict yr = y + r * channels;
      for (int64_t c = 0; c < channels; ++c) yr[c] = xr[c] * mu[c] + ad[c];
    }
  });
  return info.Env().Undefined();
}

// batchNormTrainGrad(dy, x, scale, mean, variance, dx, dScale, dOffset, rows, channels, epsilon):
// the gradients of batchNormTrain's y (whose statistics depend on x) for the dy given.
Napi::Value BatchNormTrainGrad(const Napi::CallbackInfo& info) {
  const float* dy = floats(info[0]);
  const float* x = floats(info[1]);
  const float* scale = floats(info[2]);
  const float* mean = floats(info[3]);
  const float* variance = floats(info[4]);
  float* dx = floats(info[5]);
  float* dScale = floats(info[6]);
  float* dOffset = floats(info[7]);
  const int64_t rows = i64(info[8]), channels = i64(info[9]);
  const double epsilon = f64(info[10]);
  std::vector<double> sumDy, sumDyX;
  allChannelSums(rows, channels, sumDy, sumDyX,
                 [&](int64_t i, int64_t) { return dy[i]; },
                 [&](int64_t i, int64_t c) { return dy[i] * (x[i] - mean[c]); });
  // dx = scale·invStd·(dy − Σdy/n − x̂·Σ(dy·x̂)/n), x̂ = (x − mean)·invStd: dx = a·dy + b·x + d per channel.
  std::vector<float> a(channels), b(channels), d(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const double invStd = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon);
    dOffset[c] = static_cast<float>(sumDy[c]);
    dScale[c] = static_cast<float>(sumDyX[c] * invStd);
    const double g = scale[c] * invStd;
    const double bc = -g * sumDyX[c] * invStd * invStd / rows;
    a[c] = static_cast<float>(g);
    b[c] = static_cast<float>(bc);
    d[c] = static_cast<float>(-g * sumDy[c] / rows - bc * mean[c]);
  }
  const float* __restrict pa = a.data();
  const float* __restrict pb = b.data();
  const float* __restrict pd = d.data();
  parallelRange(rows, std::max<int64_t>(1, (1 << 15) / channels), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t at = r * channels;
      for (int64_t c = 0; c < channels; ++c) dx[at + c] = pa[c] * dy[at + c] + pb[c] * x[at + c] + pd[c];
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void registerBatchNorm(Napi::Env env, Napi::Object exports) {
  exportEntry<BatchNormTrain>(env, exports, "batchNormTrain");
  exportEntry<BatchNormTrainGrad>(env, exports, "batchNormTrainGrad");
}

}  // namespace mn
