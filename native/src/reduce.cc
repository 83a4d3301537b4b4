// Reductions over one contiguous block of axes, viewed as [outer, reduced, inner], and softmax
// over the last axis. Sums accumulate in double to stay within 1e-6 of the JS reference.
#include "common.h"
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace mn {
namespace {

// kHalfSumSquares is TensorFlow's L2Loss, sum(x^2) / 2, over whole rows (inner == 1).
enum ReduceOp { kSum = 0, kMax = 1, kMin = 2, kMean = 3, kHalfSumSquares = 4 };

// reduce(op, x, out, outer, reduced, inner)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  int op = static_cast<int>(i64(info[0]));
  const float* x = floats(info[1]);
  float* y = floats(info[2]);
  int64_t outer = i64(info[3]), r = i64(info[4]), inner = i64(info[5]);
  int64_t total = outer * r * inner;
  if (op == kHalfSumSquares && inner != 1) throw Napi::Error::New(info.Env(), "half sum of squares reduces whole rows only");
  if (inner == 1) {
    parallelRange(outer, total >= (1 << 16) ? 1 : outer, [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) {
        const float* row = x + o * r;
        if (op == kSum || op == kMean) {
          double s = 0;
          for (int64_t k = 0; k < r; ++k) s += row[k];
          y[o] = static_cast<float>(op == kMean ? s / r : s);
        } else if (op == kHalfSumSquares) {
          y[o] = static_cast<float>(halfSumSquares(row, r));
        } else {
          float m = row[0];
          for (int64_t k = 1; k < r; ++k) {
            float v = row[k];
            if (std::isnan(v) || (op == kMax ? v > m : v < m)) m = v;
            if (std::isnan(m)) break;
          }
          y[o] = m;
        }
      }
    });
    return info.Env().Undefined();
  }
  // Column reduction: split over the (outer x inner) output space in blocks of whole rows.
  int64_t outputs = outer * inner;
  parallelRange(outputs, total >= (1 << 16) ? 1 : outputs, [&](int64_t s, int64_t e) {
    std::vector<double> acc;
    for (int64_t pos = s; pos < e;) {
      int64_t o = pos / inner, i0 = pos % inner;
      int64_t len = std::min(inner - i0, e - pos);
      const float* base = x + o * r * inner + i0;
      float* out = y + pos;
      if (op == kSum || op == kMean) {
        acc.assign(len, 0.0);
        for (int64_t k = 0; k < r; ++k) {
          const float* row = base + k * inner;
          for (int64_t j = 0; j < len; ++j) acc[j] += row[j];
        }
        for (int64_t j = 0; j < len; ++j) out[j] = static_cast<float>(op == kMean ? acc[j] / r : acc[j]);
      } else {
        for (int64_t j = 0; j < len; ++j) out[j] = base[j];
        for (int64_t k = 1; k < r; ++k) {
          const float* row = base + k * inner;
          for (int64_t j = 0; j < len; ++j) {
            float v = row[j], m = out[j];
            if (!std::isnan(m) && (std::isnan(v) || (op == kMax ? v > m : v < m))) out[j] = v;
          }
        }
      }
      pos += len;
    }
  });
  return info.Env().Undefined();
}

// softmax(x, out, rows, cols): along the last axis.
Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const float* x = floats(info[0]);
  float* y = floats(info[1]);
  int64_t rows = i64(info[2]), cols = i64(info[3]);
  parallelRange(rows, rows * cols >= (1 << 15) ? 1 : rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* in = x + r * cols;
      float* out = y + r * cols;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < cols; ++j) m = in[j] > m ? in[j] : m;
      double s = 0;
      for (int64_t j = 0; j < cols; ++j) {
        out[j] = std::exp(in[j] - m);
        s += out[j];
      }
      float inv = static_cast<float>(1.0 / s);
      for (int64_t j = 0; j < cols; ++j) out[j] *= inv;
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void registerReduce(Napi::Env env, Napi::Object exports) {
  exportEntry<Reduce>(env, exports, "reduce");
  exportEntry<Softmax>(env, exports, "softmax");
}

}  // namespace mn
