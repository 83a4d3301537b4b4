// denseStep: one SGD step of a two-layer dense network (x → relu(x·w1 + b1) → ·w2 + b2 = logits,
// mean sparse softmax cross-entropy) in one call: forward, backward (no gradient for x), the update
// w -= lr·(g + λ·w) of the four variables and, optionally, their moving averages
// shadow -= a·(shadow − w), all in place on the caller's arrays. Workspace is planned once per
// shape and reused. Threads split the hidden units (one barrier, between the logits' shares and
// the loss). The kernels are chosen at run time: AVX-512 where the CPU has it, else AVX2.
#include "common.h"
#include "dense_step.h"

namespace mn {
namespace {

struct Workspace {
  std::vector<int32_t> ints;
  std::vector<float> floats;
  std::vector<double> doubles;
};

// Where each workspace array of dense::Step starts; grown (never shrunk) as shapes require.
void plan(dense::Step& s, Workspace& ws) {
  const int64_t n = s.n, k = s.k, h = s.h, c = s.c, t = s.threads, nk = n * k;
  ws.ints.resize(std::max<size_t>(ws.ints.size(), size_t((n + 1) + nk + 16 + (k + 1) + nk + k)));
  // + 16: the vectorised CSR build writes up to a full vector past the last non-zero entry.
  ws.floats.resize(std::max<size_t>(ws.floats.size(), size_t(nk + 16 + nk + 2 * n * h + 2 * c * h + h + c + 2 * t * n * c)));
  ws.doubles.resize(std::max<size_t>(ws.doubles.size(), size_t(5 * t)));
  int32_t* i = ws.ints.data();
  s.csrStart = i; i += n + 1;
  s.csrCol = i; i += nk + 16;
  s.cscStart = i; i += k + 1;
  s.cscRow = i; i += nk;
  s.cscFill = i;
  float* f = ws.floats.data();
  s.csrVal = f; f += nk + 16;
  s.cscVal = f; f += nk;
  s.hidden = f; f += n * h;
  s.dhidden = f; f += n * h;
  s.w2t = f; f += c * h;
  s.g2t = f; f += c * h;
  s.db1 = f; f += h;
  s.b2copy = f; f += c;
  s.partial = f; f += t * n * c;
  s.dlogits = f;
  s.loss = ws.doubles.data();
  s.halfSquares = ws.doubles.data() + t;
}

const dense::Kernels& kernelsFor(bool allowAvx512) {
  static const dense::Kernels avx2 = dense::avx2Kernels();
  static const dense::Kernels avx512 = dense::avx512Kernels();
  static const bool hasAvx512 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  }();
  return allowAvx512 && hasAvx512 ? avx512 : avx2;
}

// denseStep(x, labels, n, k, h, c, w1, b1, w2, b2, shadowW1, shadowB1, shadowW2, shadowB2, lr,
//           decayW1, decayB1, decayW2, decayB2, oneMinusEmaDecay, threads, allowAvx512)
// The shadows are all arrays or all null. Returns [mean cross-entropy + Σ λ·Σw²/2 (the weights
// before the update), the kernels' ISA].
Napi::Value DenseStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // One per JS thread: worker threads may train side by side.
  static thread_local Workspace ws;
  dense::Step s{};
  s.x = floats(info[0]);
  auto labels = info[1].As<Napi::Int32Array>();
  s.labels = labels.Data();
  s.n = int(i64(info[2]));
  s.k = int(i64(info[3]));
  s.h = int(i64(info[4]));
  s.c = int(i64(info[5]));
  if (s.n <= 0 || s.k <= 0 || s.h <= 0 || s.c <= 0 || int64_t(labels.ElementLength()) < s.n) {
    throw Napi::Error::New(env, "denseStep: bad shape");
  }
  for (int i = 0; i < 4; ++i) s.w[i] = floats(info[6 + i]);
  const bool ema = info[10].IsTypedArray();
  for (int i = 0; i < 4; ++i) s.shadow[i] = ema ? floats(info[10 + i]) : nullptr;
  s.lr = float(f64(info[14]));
  for (int i = 0; i < 4; ++i) s.decay[i] = float(f64(info[15 + i]));
  s.ema = float(f64(info[19]));
  // At least 16 hidden units per thread.
  s.threads = std::max(1, std::min<int>(int(i64(info[20])), std::max(1, s.h / 16)));
  const dense::Kernels& kernels = kernelsFor(flag(info[21]));
  plan(s, ws);
  for (int c = 0; c < s.c; ++c) s.b2copy[c] = s.w[3][c];

  kernels.sparseRows(s);
  // Every thread's part in order on one thread gives the same result (used when OpenMP gives fewer).
  auto serially = [&] {
    for (int t = 0; t < s.threads; ++t) kernels.forward(s, t);
    for (int t = 0; t < s.threads; ++t) kernels.backward(s, t);
  };
  if (s.threads == 1) {
    serially();
  } else {
#pragma omp parallel num_threads(s.threads)
    {
      int t = omp_get_thread_num();
      if (omp_get_num_threads() == s.threads) {
        kernels.forward(s, t);
#pragma omp barrier
        kernels.backward(s, t);
      } else if (t == 0) {
        serially();
      }
    }
  }
  double l2 = 0;
  for (int t = 0; t < s.threads; ++t)
    for (int i = 0; i < 4; ++i) l2 += double(s.decay[i]) * s.halfSquares[4 * t + i];
  auto out = Napi::Array::New(env, 2);
  out.Set(uint32_t(0), Napi::Number::New(env, s.loss[0] / s.n + l2));
  out.Set(uint32_t(1), Napi::String::New(env, kernels.isa));
  return out;
}

}  // namespace

void registerDenseStep(Napi::Env env, Napi::Object exports) { exportEntry<DenseStep>(env, exports, "denseStep"); }

}  // namespace mn
