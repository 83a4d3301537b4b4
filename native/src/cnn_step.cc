// A whole training step of a chain of layers in one call: convolutions (k×k, stride 1, SAME or
// VALID, + bias, optional ReLU, optional 2×2 max-pool), then fully connected layers (+ bias,
// optional ReLU, optional dropout), the last giving the logits → mean softmax cross-entropy;
// forward, backward and (optionally) the update (SGD or Adam, with folded L2).
//
// Buffers and oneDNN primitives are planned once per batch size. The batch is split between
// "workers" (one per OpenMP thread): each runs the whole forward and backward pass on its share of
// the images with its own single-threaded primitives, buffers and scratchpads, so a step has one
// parallel region and one barrier (summing the workers' gradients), instead of one fork/join per
// kernel. With one worker the primitives use oneDNN's own threading.
#include "common.h"
#include "channel_sums.h"
#include "conv_pool_avx512.h"
#include "pool_grad.h"
#include <cmath>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>

namespace mn {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Every primitive gets its own scratchpad (user mode): workers never share oneDNN's global one.
dnnl::primitive_attr userScratch() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::primitive_attr reluAttr() {
  dnnl::primitive_attr attr = userScratch();
  dnnl::post_ops po;
  po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  attr.set_post_ops(po);
  return attr;
}

struct Run {
  dnnl::primitive prim;
  memory scratch;
  void exec(dnnl::stream& s, std::unordered_map<int, memory> args) {
    args.emplace(DNNL_ARG_SCRATCHPAD, scratch);
    prim.execute(s, args);
  }
};

template <typename PD, typename P>
Run makeRun(const PD& pd) {
  return Run{P(pd), memory(pd.scratchpad_desc(), cpuEngine())};
}

// A reorder between a user layout and a primitive's, skipped when they are the same.
struct Relayout {
  bool needed = false;
  memory user, inner;
  Run run;
  // toInner: user → primitive layout (weights in); else primitive → user (weight gradients out).
  void init(const memory::desc& userMd, const memory::desc& innerMd, bool toInner) {
    user = memory(userMd, cpuEngine(), DNNL_MEMORY_NONE);
    needed = userMd != innerMd;
    if (!needed) return;
    inner = memory(innerMd, cpuEngine());
    auto attr = userScratch();
    auto pd = toInner ? dnnl::reorder::primitive_desc(cpuEngine(), userMd, cpuEngine(), innerMd, attr)
                      : dnnl::reorder::primitive_desc(cpuEngine(), innerMd, cpuEngine(), userMd, attr);
    run = Run{dnnl::reorder(pd), memory(pd.scratchpad_desc(), cpuEngine())};
  }
  // The memory a primitive reads (weights in) after copying `data` over, or writes (gradients out).
  memory in(dnnl::stream& s, float* data) {
    user.set_data_handle(data);
    if (!needed) return user;
    run.exec(s, {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, inner}});
    return inner;
  }
  memory out(float* data) {
    user.set_data_handle(data);
    return needed ? inner : user;
  }
  void flush(dnnl::stream& s) {
    if (needed) run.exec(s, {{DNNL_ARG_FROM, inner}, {DNNL_ARG_TO, user}});
  }
};

// One layer of the chain. conv: k×k filters over an h×h×in map → oh×oh×out (→ outH = oh/2 pooled);
// dense: in → out features.
struct Layer {
  bool conv = false;
  int64_t k = 0, h = 0, oh = 0, outH = 0, padL = 0, padR = 0;
  int64_t in = 0, out = 0;
  bool relu = false, pool = false;
  float keep = 1.f;  // dropout keep probability: after the ReLU (dense), after the ReLU and pool (conv)
  // conv only: batch normalisation between the convolution (then without bias) and the ReLU, with
  // the whole batch's statistics; its parameters are γ and β in place of the bias.
  bool bn = false;
  float epsilon = 1e-3f, momentum = 0.99f;
  int64_t weightSize() const { return conv ? k * k * in * out : in * out; }
  int64_t inPerImage() const { return conv ? h * h * in : in; }
  int64_t outPerImage() const { return conv ? outH * outH * out : out; }
};

memory::desc nhwc(int64_t n, int64_t c, int64_t h) { return memory::desc({n, c, h, h}, dt::f32, tag::nhwc); }
memory::desc mat(int64_t r, int64_t c, tag t = tag::ab) { return memory::desc({r, c}, dt::f32, t); }
memory::desc vec(int64_t c) { return memory::desc({c}, dt::f32, tag::x); }

// 2×2 stride-2 max-pool of an [n, h, h, c] map (h even): tfjs's rule, first maximum in window order.
void pool2x2(const float* __restrict y, float* __restrict p, int64_t n, int64_t h, int64_t c) {
  const int64_t oh = h / 2;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < oh; ++ox) {
        const float* a = y + ((b * h + 2 * oy) * h + 2 * ox) * c;
        const float* d = a + h * c;
        float* o = p + ((b * oh + oy) * oh + ox) * c;
        for (int64_t k = 0; k < c; ++k) {
          float m0 = a[k] > a[k + c] ? a[k] : a[k + c];
          float m1 = d[k] > d[k + c] ? d[k] : d[k + c];
          o[k] = m0 > m1 ? m0 : m1;
        }
      }
}

// From the pooled gradient back through the pool and ReLU of y = relu(pre-activation) to the
// pre-activation gradient dy, adding the bias gradient to db (the same rule as maxPool2x2ReluBiasGrad).
void pool2x2ReluGrad(const float* __restrict dp, const float* __restrict y, float* __restrict dy,
                     float* __restrict db, int64_t n, int64_t h, int64_t c) {
  const int64_t oh = h / 2;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < oh; ++ox) {
        const int64_t at = ((b * h + 2 * oy) * h + 2 * ox) * c, below = at + h * c;
        const float *y00 = y + at, *y01 = y + at + c, *y10 = y + below, *y11 = y + below + c;
        float *d00 = dy + at, *d01 = dy + at + c, *d10 = dy + below, *d11 = dy + below + c;
        window2x2ReluGrad(y00, y01, y10, y11, dp + ((b * oh + oy) * oh + ox) * c, d00, d01, d10, d11, db, c);
      }
}

// Column sums of an [rows, cols] matrix added to out.
void columnSums(const float* __restrict x, float* __restrict out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) out[k] += x[r * cols + k];
}

// The dropout rule, a function of (seed, element index) alone so that the masks do not depend on
// how the batch is split: keep with probability `keep`, scaled by 1/keep (tf.nn.dropout).
inline float dropoutScale(uint64_t seed, uint64_t i, float keep) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + (i + 1) * 0xD1B54A32D192ED03ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const float u = static_cast<float>(z >> 40) * (1.f / 16777216.f);
  return u < keep ? 1.f / keep : 0.f;
}

// One worker's part of a conv layer: its share of the batch.
struct ConvWork {
  std::vector<float> y;        // relu(conv + b) [n, oh, oh, out], or relu(batchnorm(conv)) with bn
  std::vector<float> z;        // with bn: the convolution [n, oh, oh, out] before the normalisation
  std::vector<double> partial; // with bn: this worker's per-channel sums, read by every worker after a barrier
  std::vector<float> mean, invStd, mul, add;  // with bn: the batch's statistics and y = relu(z·mul + add)
  std::vector<double> variance;  // with bn: the batch's biased variance per channel
  std::vector<float> pooled;   // with pool: [n, outH, outH, out] (unless the output goes to the plan)
  std::vector<float> dy;       // gradient at y
  std::vector<float> dPooled;  // with pool: gradient at the pooled output
  float* out = nullptr;        // the layer's output: pooled or y, or the plan's dense input rows
  float* outGrad = nullptr;    // the gradient at the output
  std::vector<float> mask;     // with dropout: 0 or 1/keep per output element (out is dropped in place)
  bool direct = false;         // by avx512:: instead of oneDNN (the first layer of fast-cnn or deep-cnn)
  std::vector<float> rowScratch;
  std::vector<float> padded;   // direct with SAME padding: the images with zero borders
  int64_t paddedH = 0;
  Run fwd, bwdData, bwdWeights;
  Relayout wFwd, wBwd, gOut;

  // The direct kernels' input: the images, or a zero-bordered copy of them.
  const float* directInput(const Layer& l, const float* x, int64_t n) {
    if (padded.empty()) return x;
    for (int64_t img = 0; img < n; ++img)
      for (int64_t r = 0; r < l.h; ++r)
        std::copy(x + (img * l.h + r) * l.h, x + (img * l.h + r + 1) * l.h,
                  padded.data() + (img * paddedH + r + l.padL) * paddedH + l.padL);
    return padded.data();
  }
};

// One worker's part of a dense layer: its columns [c0, c1) over the whole batch (forward, weight
// and bias gradients: no cross-worker sum, and each core reads only its part of W), and its rows
// (its share of the batch) for the input gradient.
struct DenseWork {
  int64_t c0 = 0, c1 = 0;
  Run fwd, bwdWeights, bwdData;
};

// A dense layer's values over the whole batch, shared by the workers.
struct DenseValues {
  std::vector<float> y;        // relu(x·W + b) [batch, out]
  std::vector<float> mask;     // with dropout: 0 or 1/keep per element
  std::vector<float> dropped;  // with dropout: y · mask
  std::vector<float> dy;       // arrives as the gradient at the output, turned into y's in place
  const float* output(const Layer& l) const { return l.keep < 1.f ? dropped.data() : y.data(); }
};

struct Worker {
  int64_t first = 0, n = 0;
  dnnl::stream stream;
  std::vector<ConvWork> convs;
  std::vector<DenseWork> denses;
  std::vector<float> grads;  // the conv parameters' gradients over this worker's images
};

struct Plan {
  std::vector<Layer> chain;
  std::vector<size_t> first;  // each layer's first parameter: W, then b (or γ, β with bn)
  size_t convCount = 0;
  int64_t batch = 0, classes = 0, workerCount = 1;
  std::vector<int64_t> sizes, offsets;  // parameters: W, b (or W, γ, β) of each layer in turn
  int64_t paramCount = 0, convParamCount = 0;
  std::vector<float> features;  // the first dense layer's input (the last conv's output), whole batch
  std::vector<DenseValues> dense;
  std::vector<float> sums;  // every parameter's gradient over the whole batch
  std::vector<Worker> workers;

  const Layer& denseLayer(size_t j) const { return chain[convCount + j]; }
  // The first dense layer's input: the gathered conv features, or the images themselves.
  const float* denseInput(size_t j, const float* images) const {
    if (j > 0) return dense[j - 1].output(denseLayer(j - 1));
    return convCount > 0 ? features.data() : images;
  }
};

// Columns [c0, c1) of `out` for worker t of nw: multiples of 16 where the layer is wide enough.
std::pair<int64_t, int64_t> columnsOf(int64_t out, int64_t t, int64_t nw) {
  auto edge = [&](int64_t i) {
    const int64_t e = out * i / nw;
    return out >= 32 * nw && i < nw ? e / 16 * 16 : e;
  };
  return {edge(t), edge(t + 1)};
}

memory::desc strided(int64_t rows, int64_t cols, int64_t rowStride, int64_t colStride = 1) {
  return memory::desc({rows, cols}, dt::f32, memory::dims{rowStride, colStride});
}

void planConv(const Layer& l, ConvWork& w, int64_t n, bool first) {
  auto& eng = cpuEngine();
  using cf = dnnl::convolution_forward;
  using cbd = dnnl::convolution_backward_data;
  using cbw = dnnl::convolution_backward_weights;
  const auto alg = dnnl::algorithm::convolution_direct;
  w.y.resize(n * l.oh * l.oh * l.out);
  w.dy.resize(w.y.size());
  if (l.bn) {
    w.z.resize(w.y.size());
    w.partial.assign(2 * l.out, 0.0);
    w.mean.resize(l.out);
    w.invStd.resize(l.out);
    w.mul.resize(l.out);
    w.add.resize(l.out);
    w.variance.resize(l.out);
  }
  if (l.pool) {
    w.pooled.resize(n * l.outH * l.outH * l.out);
    w.dPooled.resize(w.pooled.size());
  }
  w.out = l.pool ? w.pooled.data() : w.y.data();
  w.outGrad = l.pool ? w.dPooled.data() : w.dy.data();
  if (l.keep < 1.f) w.mask.resize(n * l.outPerImage());
  w.direct = first && !l.bn && l.in == 1 && l.h == 28 && l.pool && l.relu && avx512::usable(l.k, l.out);
  if (w.direct) {
    w.rowScratch.resize(l.outH * 4 * l.out);
    if (l.padL + l.padR > 0) {
      w.paddedH = l.h + l.padL + l.padR;
      w.padded.assign(n * w.paddedH * w.paddedH, 0.f);
    }
    return;
  }
  const auto src = nhwc(n, l.in, l.h), dst = nhwc(n, l.out, l.oh);
  const auto wAny = memory::desc({l.out, l.in, l.k, l.k}, dt::f32, tag::any);
  const auto wUser = memory::desc({l.out, l.in, l.k, l.k}, dt::f32, tag::hwio);
  const memory::dims one{1, 1}, padL{l.padL, l.padL}, padR{l.padR, l.padR};
  cf::primitive_desc fpd = l.bn
      ? cf::primitive_desc(cf::desc(dnnl::prop_kind::forward_training, alg, src, wAny, dst, one, padL, padR), userScratch(), eng)
      : cf::primitive_desc(cf::desc(dnnl::prop_kind::forward_training, alg, src, wAny, vec(l.out), dst, one, padL, padR),
                           l.relu ? reluAttr() : userScratch(), eng);
  w.fwd = makeRun<cf::primitive_desc, cf>(fpd);
  w.wFwd.init(wUser, fpd.weights_desc(), true);
  if (!first) {
    cbd::primitive_desc dpd(cbd::desc(alg, src, wAny, dst, one, padL, padR), userScratch(), eng, fpd);
    w.bwdData = makeRun<cbd::primitive_desc, cbd>(dpd);
    w.wBwd.init(wUser, dpd.weights_desc(), true);
  }
  cbw::primitive_desc wpd(cbw::desc(alg, src, wAny, dst, one, padL, padR), userScratch(), eng, fpd);
  w.bwdWeights = makeRun<cbw::primitive_desc, cbw>(wpd);
  w.gOut.init(wUser, wpd.diff_weights_desc(), false);
}

void planDense(const Layer& l, DenseWork& w, int64_t batch, int64_t n, int64_t t, int64_t nw, bool inputGrad) {
  auto& eng = cpuEngine();
  using mm = dnnl::matmul;
  auto matmul = [&](const memory::desc& a, const memory::desc& b, const memory::desc* bias, const memory::desc& c,
                    const dnnl::primitive_attr& attr) {
    mm::primitive_desc pd(bias ? mm::desc(a, b, *bias, c) : mm::desc(a, b, c), attr, eng);
    return makeRun<mm::primitive_desc, mm>(pd);
  };
  std::tie(w.c0, w.c1) = columnsOf(l.out, t, nw);
  const int64_t cols = w.c1 - w.c0;
  if (cols > 0) {
    const auto bias = strided(1, cols, l.out);
    w.fwd = matmul(mat(batch, l.in), strided(l.in, cols, l.out), &bias, strided(batch, cols, l.out),
                   l.relu ? reluAttr() : userScratch());
    // Weight gradient xᵀ·dy: x read transposed through its strides.
    w.bwdWeights = matmul(strided(l.in, batch, 1, l.in), strided(batch, cols, l.out), nullptr, strided(l.in, cols, l.out),
                          userScratch());
  }
  if (inputGrad) w.bwdData = matmul(mat(n, l.out), mat(l.out, l.in, tag::ba), nullptr, mat(n, l.in), userScratch());
}

// Per-phase CPU seconds of worker 0 (cnnStepProfile), for finding where a step goes: each layer's
// forward, the loss, each layer's backward, the sum + update, the whole call. Waits at the
// barriers count in the phase that follows them.
std::vector<std::string> phaseNames;
std::vector<double> phaseSeconds;
bool profiling = false;

// The calling thread's CPU time: on a shared machine, wall time mostly measures the waiting.
double threadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct PhaseClock {
  bool on;
  double t;
  explicit PhaseClock(bool on_) : on(on_ && !phaseSeconds.empty()), t(on ? threadSeconds() : 0) {}
  void lap(size_t phase) {
    if (!on) return;
    double now = threadSeconds();
    if (phase < phaseSeconds.size()) phaseSeconds[phase] += now - t;
    t = now;
  }
};

// Every worker waits for the others (nothing with one worker, outside a parallel region).
inline void sync() {
#pragma omp barrier
}

// Pointer to worker-local memory wrapped as a oneDNN memory object (no copy).
memory wrap(const memory::desc& md, const float* p) { return memory(md, cpuEngine(), const_cast<float*>(p)); }

// Dropout on a conv layer's output (after its ReLU and pool), in place: the mask of element e of
// the whole batch's output depends on (seed, e) alone, so it does not depend on the split.
void dropConvOutput(const Layer& l, ConvWork& w, uint64_t seed, int64_t first, int64_t n) {
  const int64_t size = n * l.outPerImage(), base = first * l.outPerImage();
  for (int64_t e = 0; e < size; ++e) {
    w.mask[e] = dropoutScale(seed, static_cast<uint64_t>(base + e), l.keep);
    w.out[e] *= w.mask[e];
  }
}

// After the barrier that follows every worker's convolution: the whole batch's mean and biased
// variance from all workers' sums (added in worker order, so every worker gets the same), then
// y = relu(γ·(z − mean)/√(variance + ε) + β) and the pool.
void normaliseForward(const Layer& l, size_t layer, ConvWork& w, const std::vector<Worker>& workers, const float* gamma,
                      const float* beta, int64_t n, int64_t batch) {
  const double count = static_cast<double>(batch * l.oh * l.oh);
  for (int64_t c = 0; c < l.out; ++c) {
    double sum = 0, squares = 0;
    for (const Worker& o : workers) {
      sum += o.convs[layer].partial[c];
      squares += o.convs[layer].partial[c + l.out];
    }
    const double mean = sum / count, variance = std::max(0.0, squares / count - mean * mean);
    const double invStd = 1.0 / std::sqrt(variance + static_cast<double>(l.epsilon));
    w.mean[c] = static_cast<float>(mean);
    w.variance[c] = variance;
    w.invStd[c] = static_cast<float>(invStd);
    w.mul[c] = static_cast<float>(gamma[c] * invStd);
    w.add[c] = static_cast<float>(beta[c] - mean * gamma[c] * invStd);
  }
  const int64_t rows = n * l.oh * l.oh;
  const float* __restrict mul = w.mul.data();
  const float* __restrict add = w.add.data();
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict zr = w.z.data() + r * l.out;
    float* __restrict yr = w.y.data() + r * l.out;
    for (int64_t c = 0; c < l.out; ++c) yr[c] = std::max(0.f, zr[c] * mul[c] + add[c]);
  }
  if (l.pool)
    pool2x2(w.y.data(), w.out, n, l.oh, l.out);
  else if (w.out != w.y.data())
    std::copy(w.y.begin(), w.y.end(), w.out);
}

// With dy at the normalisation's output (after the ReLU and pool's backward) and, after a barrier,
// every worker's Σdy (its β gradient, at `betaOffset` of its grads) and Σdy·(z − mean): the
// gradient at z, in place in dy. Adds this worker's share of γ's gradient to gGamma.
void normaliseBackward(const Layer& l, size_t layer, ConvWork& w, const std::vector<Worker>& workers, int64_t betaOffset,
                       const float* gamma, float* gGamma, int64_t n, int64_t batch) {
  const double count = static_cast<double>(batch * l.oh * l.oh);
  std::vector<float> a(l.out), b(l.out), d(l.out);
  for (int64_t c = 0; c < l.out; ++c) {
    double sumDy = 0, sumDyZ = 0;
    for (const Worker& o : workers) {
      sumDy += o.grads[betaOffset + c];
      sumDyZ += o.convs[layer].partial[c];
    }
    const double invStd = w.invStd[c], g = gamma[c] * invStd;
    gGamma[c] += static_cast<float>(w.partial[c] * invStd);
    const double slope = -g * sumDyZ * invStd * invStd / count;
    a[c] = static_cast<float>(g);
    b[c] = static_cast<float>(slope);
    d[c] = static_cast<float>(-g * sumDy / count - slope * w.mean[c]);
  }
  const int64_t rows = n * l.oh * l.oh;
  for (int64_t r = 0; r < rows; ++r) {
    float* __restrict dr = w.dy.data() + r * l.out;
    const float* __restrict zr = w.z.data() + r * l.out;
    for (int64_t c = 0; c < l.out; ++c) dr[c] = a[c] * dr[c] + b[c] * zr[c] + d[c];
  }
}

void forwardConv(const Layer& l, ConvWork& w, dnnl::stream& st, const float* src, const float* weight, const float* bias,
                 int64_t n) {
  if (w.direct) {
    const float* in = w.directInput(l, src, n);
    const int64_t h = w.padded.empty() ? l.h : w.paddedH;
    if (l.out == 24)
      avx512::convPoolForward<24>(in, weight, bias, w.y.data(), w.out, n, h);
    else
      avx512::convPoolForward<32>(in, weight, bias, w.y.data(), w.out, n, h);
    return;
  }
  if (l.bn) {  // the convolution alone: normaliseForward follows once every worker has its sums
    w.fwd.exec(st, {{DNNL_ARG_SRC, wrap(nhwc(n, l.in, l.h), src)}, {DNNL_ARG_WEIGHTS, w.wFwd.in(st, const_cast<float*>(weight))},
                    {DNNL_ARG_DST, wrap(nhwc(n, l.out, l.oh), w.z.data())}});
    st.wait();
    const float* z = w.z.data();
    std::fill(w.partial.begin(), w.partial.end(), 0.0);
    channelSums(0, n * l.oh * l.oh, l.out, w.partial.data(), w.partial.data() + l.out, [&](int64_t i, int64_t) { return z[i]; },
                [&](int64_t i, int64_t) { return z[i] * z[i]; });
    return;
  }
  w.fwd.exec(st, {{DNNL_ARG_SRC, wrap(nhwc(n, l.in, l.h), src)}, {DNNL_ARG_WEIGHTS, w.wFwd.in(st, const_cast<float*>(weight))},
                  {DNNL_ARG_BIAS, wrap(vec(l.out), bias)}, {DNNL_ARG_DST, wrap(nhwc(n, l.out, l.oh), w.y.data())}});
  st.wait();
  if (l.pool)
    pool2x2(w.y.data(), w.out, n, l.oh, l.out);
  else if (w.out != w.y.data())
    std::copy(w.y.begin(), w.y.end(), w.out);
}

// The gradient at a conv layer's output through its dropout mask (in place), if it has dropout.
void dropOutputGrad(const Layer& l, ConvWork& w) {
  if (l.keep < 1.f)
    for (size_t e = 0; e < w.mask.size(); ++e) w.outGrad[e] *= w.mask[e];
}

void toPreActivation(const Layer& l, ConvWork& w, float* gB, int64_t n);
void convolutionBackward(const Layer& l, ConvWork& w, dnnl::stream& st, const float* src, const float* weight, float* gW,
                         float* srcGrad, int64_t n);

// From the gradient at the conv layer's output to its parameter gradients, and to the gradient at
// its input (`srcGrad`, unless null). Not for bn layers (workerStep runs their parts between barriers).
void backwardConv(const Layer& l, ConvWork& w, dnnl::stream& st, const float* src, const float* weight, float* gW,
                  float* gB, float* srcGrad, int64_t n) {
  dropOutputGrad(l, w);
  if (w.direct) {
    // The forward pass left the padded images in place.
    const float* in = w.padded.empty() ? src : w.padded.data();
    const int64_t h = w.padded.empty() ? l.h : w.paddedH;
    if (l.out == 24)
      avx512::convPoolBackward<24>(in, w.y.data(), w.outGrad, gW, gB, w.rowScratch.data(), n, h);
    else
      avx512::convPoolBackward<32>(in, w.y.data(), w.outGrad, gW, gB, w.rowScratch.data(), n, h);
    return;
  }
  toPreActivation(l, w, gB, n);
  convolutionBackward(l, w, st, src, weight, gW, srcGrad, n);
}

// From the gradient at a (non-direct) conv layer's output, its dropout mask applied, to the
// gradient at its pre-activation in w.dy (through the pool and ReLU), adding that one's column
// sums (the bias's, or with bn β's, gradient) to gB.
void toPreActivation(const Layer& l, ConvWork& w, float* gB, int64_t n) {
  if (l.pool) {
    pool2x2ReluGrad(w.outGrad, w.y.data(), w.dy.data(), gB, n, l.oh, l.out);
  } else {
    if (w.outGrad != w.dy.data()) std::copy(w.outGrad, w.outGrad + w.dy.size(), w.dy.data());
    if (l.relu)
      for (size_t i = 0; i < w.dy.size(); ++i) w.dy[i] = w.y[i] > 0.f ? w.dy[i] : 0.f;
    columnSums(w.dy.data(), gB, n * l.oh * l.oh, l.out);
  }
}

// From the gradient at the convolution's output (w.dy) to its filter's gradient, and to the
// gradient at its input (`srcGrad`, unless null).
void convolutionBackward(const Layer& l, ConvWork& w, dnnl::stream& st, const float* src, const float* weight, float* gW,
                         float* srcGrad, int64_t n) {
  const auto srcMd = nhwc(n, l.in, l.h), dstMd = nhwc(n, l.out, l.oh);
  w.bwdWeights.exec(st, {{DNNL_ARG_SRC, wrap(srcMd, src)}, {DNNL_ARG_DIFF_DST, wrap(dstMd, w.dy.data())},
                         {DNNL_ARG_DIFF_WEIGHTS, w.gOut.out(gW)}});
  w.gOut.flush(st);
  if (srcGrad)
    w.bwdData.exec(st, {{DNNL_ARG_DIFF_DST, wrap(dstMd, w.dy.data())}, {DNNL_ARG_WEIGHTS, w.wBwd.in(st, const_cast<float*>(weight))},
                        {DNNL_ARG_DIFF_SRC, wrap(srcMd, srcGrad)}});
  st.wait();
}

// One worker's part of the step; returns its images' summed (not yet averaged) loss. Conv layers
// run on the worker's images; dense layers by columns over the whole batch, with a barrier
// wherever the next stage reads what other workers wrote.
double workerStep(Plan& plan, Worker& wk, const float* images, const int32_t* labels, float* const* weights,
                  const uint64_t* seeds, float smoothing) {
  const auto& chain = plan.chain;
  const size_t count = chain.size(), convs = plan.convCount, denses = count - convs;
  const int64_t n = wk.n, batch = plan.batch;
  auto& st = wk.stream;
  const float* x = images + wk.first * chain[0].inPerImage();
  PhaseClock clock(profiling && wk.first == 0);

  for (size_t i = 0; i < convs; ++i) {
    const size_t p = plan.first[i];
    forwardConv(chain[i], wk.convs[i], st, i == 0 ? x : wk.convs[i - 1].out, weights[p], weights[p + 1], n);
    if (chain[i].bn) {
      sync();
      normaliseForward(chain[i], i, wk.convs[i], plan.workers, weights[p + 1], weights[p + 2], n, batch);
    }
    if (chain[i].keep < 1.f) dropConvOutput(chain[i], wk.convs[i], seeds[i], wk.first, n);
    clock.lap(i);
  }
  for (size_t j = 0; j < denses; ++j) {
    sync();
    const size_t i = convs + j;
    const Layer& l = chain[i];
    DenseWork& w = wk.denses[j];
    DenseValues& v = plan.dense[j];
    if (w.c1 > w.c0) {
      w.fwd.exec(st, {{DNNL_ARG_SRC, wrap(mat(batch, l.in), plan.denseInput(j, images))},
                      {DNNL_ARG_WEIGHTS, wrap(strided(l.in, w.c1 - w.c0, l.out), weights[plan.first[i]] + w.c0)},
                      {DNNL_ARG_BIAS, wrap(strided(1, w.c1 - w.c0, l.out), weights[plan.first[i] + 1] + w.c0)},
                      {DNNL_ARG_DST, wrap(strided(batch, w.c1 - w.c0, l.out), v.y.data() + w.c0)}});
      st.wait();
      if (l.keep < 1.f)
        for (int64_t r = 0; r < batch; ++r)
          for (int64_t c = w.c0; c < w.c1; ++c) {
            const int64_t e = r * l.out + c;
            v.mask[e] = dropoutScale(seeds[i], static_cast<uint64_t>(e), l.keep);
            v.dropped[e] = v.y[e] * v.mask[e];
          }
    }
    clock.lap(i);
  }
  sync();

  // Mean softmax cross-entropy over the whole batch against the smoothed targets
  // q = (1 − ε)·one-hot + ε/classes, and its gradient (softmax − q) / batch, for this worker's rows.
  const int64_t classes = plan.classes;
  const float* z = plan.dense.back().y.data() + wk.first * classes;
  float* dz = plan.dense.back().dy.data() + wk.first * classes;
  const int32_t* y = labels + wk.first;
  double loss = 0;
  const float inv = 1.f / static_cast<float>(batch);
  for (int64_t r = 0; r < n; ++r) {
    const float* zr = z + r * classes;
    float* dr = dz + r * classes;
    float mx = zr[0];
    for (int64_t k = 1; k < classes; ++k) mx = std::max(mx, zr[k]);
    double sum = 0;
    for (int64_t k = 0; k < classes; ++k) sum += std::exp(static_cast<double>(zr[k] - mx));
    const int64_t label = y[r];
    loss += std::log(sum) - (1.0 - smoothing) * static_cast<double>(zr[label] - mx);
    if (smoothing != 0.f) {
      double shifted = 0;
      for (int64_t k = 0; k < classes; ++k) shifted += static_cast<double>(zr[k] - mx);
      loss -= smoothing * shifted / static_cast<double>(classes);
    }
    const float spread = smoothing / static_cast<float>(classes), hit = 1.f - smoothing;
    for (int64_t k = 0; k < classes; ++k) {
      const float p = static_cast<float>(std::exp(static_cast<double>(zr[k] - mx)) / sum);
      dr[k] = (p - spread - (k == label ? hit : 0.f)) * inv;
    }
  }
  clock.lap(count);

  for (size_t j = denses; j-- > 0;) {
    sync();
    const size_t i = convs + j;
    const Layer& l = chain[i];
    DenseWork& w = wk.denses[j];
    DenseValues& v = plan.dense[j];
    float* gW = plan.sums.data() + plan.offsets[plan.first[i]];
    float* gB = plan.sums.data() + plan.offsets[plan.first[i] + 1];
    if (w.c1 > w.c0) {
      std::fill(gB + w.c0, gB + w.c1, 0.f);
      for (int64_t r = 0; r < batch; ++r) {
        float* d = v.dy.data() + r * l.out;
        const float* yr = v.y.data() + r * l.out;
        if (l.keep < 1.f) {
          const float* m = v.mask.data() + r * l.out;
          for (int64_t c = w.c0; c < w.c1; ++c) d[c] *= m[c];
        }
        if (l.relu)
          for (int64_t c = w.c0; c < w.c1; ++c) d[c] = yr[c] > 0.f ? d[c] : 0.f;
        for (int64_t c = w.c0; c < w.c1; ++c) gB[c] += d[c];
      }
      w.bwdWeights.exec(st, {{DNNL_ARG_SRC, wrap(strided(l.in, batch, 1, l.in), plan.denseInput(j, images))},
                             {DNNL_ARG_WEIGHTS, wrap(strided(batch, w.c1 - w.c0, l.out), v.dy.data() + w.c0)},
                             {DNNL_ARG_DST, wrap(strided(l.in, w.c1 - w.c0, l.out), gW + w.c0)}});
      st.wait();
    }
    const bool inputGrad = j > 0 || convs > 0;
    if (inputGrad) {
      sync();  // every column of dy is final
      float* srcGrad = j > 0 ? plan.dense[j - 1].dy.data() + wk.first * l.in : wk.convs[convs - 1].outGrad;
      w.bwdData.exec(st, {{DNNL_ARG_SRC, wrap(mat(n, l.out), v.dy.data() + wk.first * l.out)},
                          {DNNL_ARG_WEIGHTS, wrap(mat(l.out, l.in, tag::ba), weights[plan.first[i]])},
                          {DNNL_ARG_DST, wrap(mat(n, l.in), srcGrad)}});
      st.wait();
    }
    clock.lap(2 * count - i);
  }

  std::fill(wk.grads.begin(), wk.grads.end(), 0.f);
  float* g = wk.grads.data();
  for (size_t i = convs; i-- > 0;) {
    const Layer& l = chain[i];
    ConvWork& w = wk.convs[i];
    const size_t p = plan.first[i];
    float* srcGrad = i > 0 ? wk.convs[i - 1].outGrad : nullptr;
    const float* src = i == 0 ? x : wk.convs[i - 1].out;
    if (!l.bn) {
      backwardConv(l, w, st, src, weights[p], g + plan.offsets[p], g + plan.offsets[p + 1], srcGrad, n);
    } else {
      dropOutputGrad(l, w);
      toPreActivation(l, w, g + plan.offsets[p + 2], n);
      const float *dy = w.dy.data(), *z = w.z.data(), *mean = w.mean.data();
      std::fill(w.partial.begin(), w.partial.begin() + l.out, 0.0);
      channelSums(0, n * l.oh * l.oh, l.out, w.partial.data(), static_cast<double*>(nullptr),
                  [&](int64_t i, int64_t c) { return dy[i] * (z[i] - mean[c]); }, [](int64_t, int64_t) { return 0.f; });
      sync();  // every worker's Σdy (its β gradient) and Σdy·(z − mean)
      normaliseBackward(l, i, w, plan.workers, plan.offsets[p + 2], weights[p + 1], g + plan.offsets[p + 1], n, batch);
      convolutionBackward(l, w, st, src, weights[p], g + plan.offsets[p], srcGrad, n);
    }
    clock.lap(2 * count - i);
  }
  return loss;
}

struct AdamArgs {
  float lr, b1, b2, eps, c1, c2;
};

void adamRange(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t count,
               AdamArgs k) {
  const float oneMinusB1 = 1.f - k.b1, oneMinusB2 = 1.f - k.b2;
  for (int64_t i = 0; i < count; ++i) {
    const float gi = g[i];
    const float mi = m[i] * k.b1 + gi * oneMinusB1;
    const float vi = v[i] * k.b2 + gi * gi * oneMinusB2;
    m[i] = mi;
    v[i] = vi;
    w[i] -= k.lr * (mi * k.c1) / (std::sqrt(vi * k.c2) + k.eps);
  }
}

std::vector<float*> floatArrays(const Napi::Value& v, size_t count, const char* what) {
  auto arr = v.As<Napi::Array>();
  if (arr.Length() != count) throw Napi::Error::New(v.Env(), std::string("cnnStep: expected ") + std::to_string(count) + " " + what);
  std::vector<float*> out(count);
  for (size_t i = 0; i < count; ++i) out[i] = floats(arr.Get(static_cast<uint32_t>(i)));
  return out;
}

int64_t field(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  return v.IsNumber() ? i64(v) : 0;
}

// The chain from its JavaScript description; throws on an inconsistent one.
std::vector<Layer> parseChain(const Napi::Env& env, const Napi::Array& arr) {
  std::vector<Layer> chain;
  auto bad = [&](const std::string& why) { return Napi::Error::New(env, "cnnStepPlan: " + why); };
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    auto o = arr.Get(i).As<Napi::Object>();
    Layer l;
    l.conv = o.Get("kind").ToString().Utf8Value() == "conv";
    l.in = field(o, "in");
    l.out = field(o, "out");
    l.relu = flag(o.Get("relu"));
    if (l.conv) {
      l.k = field(o, "k");
      l.h = field(o, "h");
      l.pool = flag(o.Get("pool"));
      const bool same = flag(o.Get("same"));
      l.padL = same ? (l.k - 1) / 2 : 0;
      l.padR = same ? l.k - 1 - l.padL : 0;
      l.oh = same ? l.h : l.h - l.k + 1;
      l.outH = l.pool ? l.oh / 2 : l.oh;
      if (l.k < 1 || l.oh < 1 || (l.pool && (l.oh % 2 || !l.relu))) throw bad("unsupported convolution");
      const Napi::Value bn = o.Get("batchNorm");
      if (bn.IsObject()) {
        l.bn = true;
        l.epsilon = static_cast<float>(f64(bn.As<Napi::Object>().Get("epsilon")));
        l.momentum = static_cast<float>(f64(bn.As<Napi::Object>().Get("momentum")));
        if (!l.relu || !(l.epsilon > 0.f) || !(l.momentum >= 0.f && l.momentum <= 1.f)) throw bad("unsupported batch normalisation");
      }
    }
    const Napi::Value keep = o.Get("keep");
    l.keep = keep.IsNumber() ? static_cast<float>(f64(keep)) : 1.f;
    if (!(l.keep > 0.f && l.keep <= 1.f)) throw bad("dropout keep probability must be in (0, 1]");
    if (l.in < 1 || l.out < 1) throw bad("empty layer");
    if (!chain.empty()) {
      const Layer& prev = chain.back();
      if (l.conv && !prev.conv) throw bad("a convolution after a dense layer");
      if (l.conv ? (l.h != prev.outH || l.in != prev.out) : l.in != prev.outPerImage()) throw bad("layer sizes do not chain");
    }
    chain.push_back(l);
  }
  if (chain.empty() || chain.back().conv || chain.back().relu || chain.back().keep < 1.f) throw bad("the last layer must give the logits");
  return chain;
}

// cnnStepPlan(batch, layers, workers) → a plan (External). layers: [{kind: 'conv', k, h, in, out,
// same, relu, pool, keep?} | {kind: 'dense', in, out, relu, keep}].
Napi::Value CnnStepPlan(const Napi::CallbackInfo& info) {
  auto plan = std::make_unique<Plan>();
  plan->batch = i64(info[0]);
  if (plan->batch < 1) throw Napi::Error::New(info.Env(), "cnnStepPlan: empty batch");
  plan->chain = parseChain(info.Env(), info[1].As<Napi::Array>());
  plan->classes = plan->chain.back().out;
  for (const Layer& l : plan->chain) {
    if (l.conv) plan->convCount++;
    plan->first.push_back(plan->sizes.size());
    std::vector<int64_t> sizes{l.weightSize(), l.out};
    if (l.bn) sizes.push_back(l.out);
    for (int64_t size : sizes) {
      plan->sizes.push_back(size);
      plan->offsets.push_back(plan->paramCount);
      plan->paramCount += size;
    }
  }
  const size_t convs = plan->convCount, count = plan->chain.size();
  plan->convParamCount = convs > 0 ? plan->offsets[plan->first[convs]] : 0;
  const int64_t batch = plan->batch;
  if (convs > 0) plan->features.resize(batch * plan->chain[convs].in);
  plan->dense.resize(count - convs);
  for (size_t j = 0; j < plan->dense.size(); ++j) {
    const Layer& l = plan->denseLayer(j);
    DenseValues& v = plan->dense[j];
    v.y.resize(batch * l.out);
    v.dy.resize(v.y.size());
    if (l.keep < 1.f) {
      v.mask.resize(v.y.size());
      v.dropped.resize(v.y.size());
    }
  }
  plan->sums.resize(plan->paramCount);
  const int threads = omp_get_max_threads();
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>({i64(info[2]), threads, batch}));
  plan->workerCount = workers;
  // Split workers run single-threaded primitives inside one parallel region; a lone worker's use
  // oneDNN's own threading. oneDNN fixes a primitive's thread count when it is created.
  if (workers > 1) omp_set_num_threads(1);
  plan->workers.resize(workers);
  for (int64_t t = 0; t < workers; ++t) {
    Worker& wk = plan->workers[t];
    wk.first = batch * t / workers;
    wk.n = batch * (t + 1) / workers - wk.first;
    wk.stream = dnnl::stream(cpuEngine());
    wk.grads.resize(plan->convParamCount);
    wk.convs.resize(convs);
    for (size_t i = 0; i < convs; ++i) planConv(plan->chain[i], wk.convs[i], wk.n, i == 0);
    if (convs > 0) {  // the last conv writes its output straight into the dense layers' input
      ConvWork& last = wk.convs[convs - 1];
      last.out = plan->features.data() + wk.first * plan->chain[convs].in;
      std::vector<float>().swap(last.pooled);
    }
    wk.denses.resize(count - convs);
    for (size_t j = 0; j < wk.denses.size(); ++j) planDense(plan->denseLayer(j), wk.denses[j], batch, wk.n, t, workers, j > 0 || convs > 0);
  }
  if (workers > 1) omp_set_num_threads(threads);
  phaseNames.clear();
  auto name = [&](size_t i) { return std::string(plan->chain[i].conv ? "conv" : "dense") + " " + std::to_string(i + 1); };
  for (size_t i = 0; i < count; ++i) phaseNames.push_back(name(i) + " forward");
  phaseNames.push_back("loss");
  for (size_t i = count; i-- > 0;) phaseNames.push_back(name(i) + " backward");
  phaseNames.push_back("sum + update");
  phaseNames.push_back("whole call");
  phaseSeconds.assign(phaseNames.size(), 0.0);
  return Napi::External<Plan>::New(info.Env(), plan.release(), [](Napi::Env, Plan* p) { delete p; });
}

// cnnStepRun(plan, images, labels, weights[P], grads[P] | null, update | null, seeds, smoothing,
// statistics) → mean loss. P parameters: W and b of each layer, or W, γ and β of a bn conv layer.
// Without an update: the gradients of the mean cross-entropy are written to grads. With update =
// {kind: 'sgd', lr, decays} or {kind: 'adam', m: [P], v: [P], lr, beta1, beta2, epsilonHat, c1,
// c2, decays}: the weights (and Adam's slots) are updated in place with TensorFlow's rule (see
// optimizer.cc), each gradient plus decays[p]·w (folded L2), and the loss includes Σ decays[p]·Σw²/2.
// With shadows: [P] and oneMinusDecay, the moving averages follow the updated weights in the same
// pass: shadow -= oneMinusDecay·(shadow − w).
// seeds: one number per layer, the dropout mask's seed (read for layers with dropout only).
// smoothing (optional, default 0): label smoothing ε of the cross-entropy's targets.
// statistics (optional): [moving mean, moving variance] arrays of each bn layer in turn, moved by
// 1 − momentum towards the batch's mean and unbiased (n − 1) variance, as TensorFlow does.
Napi::Value CnnStepRun(const Napi::CallbackInfo& info) {
  Plan& plan = *info[0].As<Napi::External<Plan>>().Data();
  const size_t params = plan.sizes.size();
  const float* images = floats(info[1]);
  auto labelsArr = info[2].As<Napi::TypedArray>();
  const int32_t* labels =
      reinterpret_cast<const int32_t*>(static_cast<uint8_t*>(labelsArr.ArrayBuffer().Data()) + labelsArr.ByteOffset());
  for (int64_t i = 0; i < plan.batch; ++i)
    if (labels[i] < 0 || labels[i] >= plan.classes) throw Napi::Error::New(info.Env(), "cnnStepRun: label out of range");
  std::vector<float*> weights = floatArrays(info[3], params, "weight arrays");
  const bool withUpdate = info[5].IsObject();
  bool adam = false;
  std::vector<float*> grads, m, v, shadows;
  std::vector<float> decays(params, 0.f);
  float oneMinusDecay = 0;
  AdamArgs adamArgs{};
  float lr = 0;
  if (withUpdate) {
    auto o = info[5].As<Napi::Object>();
    adam = o.Get("kind").ToString().Utf8Value() == "adam";
    lr = static_cast<float>(f64(o.Get("lr")));
    if (adam) {
      m = floatArrays(o.Get("m"), params, "Adam m arrays");
      v = floatArrays(o.Get("v"), params, "Adam v arrays");
      adamArgs = {lr, static_cast<float>(f64(o.Get("beta1"))), static_cast<float>(f64(o.Get("beta2"))),
                  static_cast<float>(f64(o.Get("epsilonHat"))), static_cast<float>(f64(o.Get("c1"))),
                  static_cast<float>(f64(o.Get("c2")))};
    }
    if (o.Get("shadows").IsArray()) {
      shadows = floatArrays(o.Get("shadows"), params, "moving-average arrays");
      oneMinusDecay = static_cast<float>(f64(o.Get("oneMinusDecay")));
    }
    if (o.Get("decays").IsArray()) {
      auto d = o.Get("decays").As<Napi::Array>();
      for (uint32_t p = 0; p < params && p < d.Length(); ++p) decays[p] = static_cast<float>(f64(d.Get(p)));
    }
  } else {
    grads = floatArrays(info[4], params, "gradient arrays");
  }
  std::vector<uint64_t> seeds(plan.chain.size(), 0);
  if (info.Length() > 6 && info[6].IsArray()) {
    auto s = info[6].As<Napi::Array>();
    for (uint32_t i = 0; i < seeds.size() && i < s.Length(); ++i) seeds[i] = static_cast<uint64_t>(i64(s.Get(i)));
  }

  const float smoothing = info.Length() > 7 && info[7].IsNumber() ? static_cast<float>(f64(info[7])) : 0.f;
  if (!(smoothing >= 0.f && smoothing < 1.f)) throw Napi::Error::New(info.Env(), "cnnStepRun: label smoothing outside [0, 1)");
  std::vector<size_t> normalised;
  for (size_t i = 0; i < plan.convCount; ++i)
    if (plan.chain[i].bn) normalised.push_back(i);
  std::vector<float*> statistics;
  if (info.Length() > 8 && info[8].IsArray()) statistics = floatArrays(info[8], 2 * normalised.size(), "moving-statistics arrays");

  const int64_t nw = static_cast<int64_t>(plan.workers.size());
  std::vector<double> losses(nw, 0.0), l2(nw, 0.0);
  PhaseClock callClock(profiling);
  const size_t updatePhase = phaseSeconds.size() - 2, callPhase = phaseSeconds.size() - 1;
  // After every worker's backward pass: the summed gradient of parameter range [s, e) of the flat
  // parameter vector, then its update; returns that range's L2 term.
  auto finish = [&](int64_t s, int64_t e) {
    double l2Sum = 0;
    for (size_t p = 0; p < params; ++p) {
      const int64_t lo = std::max(s, plan.offsets[p]), hi = std::min(e, plan.offsets[p] + plan.sizes[p]);
      if (lo >= hi) continue;
      const int64_t at = lo - plan.offsets[p], count = hi - lo;
      float* sum = plan.sums.data() + lo;
      if (lo < plan.convParamCount) {  // conv parameters: the workers' parts added up
        std::copy(plan.workers[0].grads.data() + lo, plan.workers[0].grads.data() + hi, sum);
        for (int64_t w = 1; w < nw; ++w) {
          const float* part = plan.workers[w].grads.data() + lo;
          for (int64_t i = 0; i < count; ++i) sum[i] += part[i];
        }
      }
      if (!withUpdate) {
        std::copy(sum, sum + count, grads[p] + at);
        continue;
      }
      float* wp = weights[p] + at;
      if (decays[p] != 0.f) {
        l2Sum += decays[p] * halfSumSquares(wp, count);
        for (int64_t i = 0; i < count; ++i) sum[i] += decays[p] * wp[i];
      }
      if (adam) {
        adamRange(wp, sum, m[p] + at, v[p] + at, count, adamArgs);
      } else {
        for (int64_t i = 0; i < count; ++i) wp[i] -= lr * sum[i];
      }
      if (!shadows.empty()) {
        float* sh = shadows[p] + at;
        for (int64_t i = 0; i < count; ++i) sh[i] -= oneMinusDecay * (sh[i] - wp[i]);
      }
    }
    return l2Sum;
  };
  if (nw == 1) {
    losses[0] = workerStep(plan, plan.workers[0], images, labels, weights.data(), seeds.data(), smoothing);
    PhaseClock finishClock(profiling);
    l2[0] = finish(0, plan.paramCount);
    finishClock.lap(updatePhase);
  } else {
#pragma omp parallel num_threads(nw)
    {
      const int t = omp_get_thread_num();
      losses[t] = workerStep(plan, plan.workers[t], images, labels, weights.data(), seeds.data(), smoothing);
#pragma omp barrier
      const int64_t count = plan.paramCount;
      PhaseClock finishClock(profiling && t == 0);
      l2[t] = finish(count * t / nw, count * (t + 1) / nw);
      finishClock.lap(updatePhase);
    }
  }
  for (size_t b = 0; b < statistics.size() / 2; ++b) {
    const Layer& l = plan.chain[normalised[b]];
    const ConvWork& w = plan.workers[0].convs[normalised[b]];
    const double count = static_cast<double>(plan.batch * l.oh * l.oh), rate = 1.0 - l.momentum;
    const double unbiased = count / std::max(count - 1.0, 1.0);
    float* mean = statistics[2 * b];
    float* variance = statistics[2 * b + 1];
    for (int64_t c = 0; c < l.out; ++c) {
      mean[c] -= static_cast<float>(rate * (mean[c] - w.mean[c]));
      variance[c] -= static_cast<float>(rate * (variance[c] - w.variance[c] * unbiased));
    }
  }
  callClock.lap(callPhase);
  double loss = 0, l2Total = 0;
  for (int64_t w = 0; w < nw; ++w) {
    loss += losses[w];
    l2Total += l2[w];
  }
  return Napi::Number::New(info.Env(), loss / static_cast<double>(plan.batch) + l2Total);
}

// cnnStepDropoutMask(seed, rows, cols, keep) → the mask (0 or 1/keep) a dropout layer of `cols`
// features draws for a batch of `rows` with that seed: tests rebuild the step with it.
Napi::Value CnnStepDropoutMask(const Napi::CallbackInfo& info) {
  const uint64_t seed = static_cast<uint64_t>(i64(info[0]));
  const int64_t size = i64(info[1]) * i64(info[2]);
  const float keep = static_cast<float>(f64(info[3]));
  auto out = Napi::Float32Array::New(info.Env(), static_cast<size_t>(size));
  for (int64_t i = 0; i < size; ++i) out[static_cast<size_t>(i)] = dropoutScale(seed, static_cast<uint64_t>(i), keep);
  return out;
}

// cnnStepProfile(on) → {phase: CPU seconds} of worker 0 since the last call, for the last plan
// made; `on` turns the clock on or off.
Napi::Value CnnStepProfile(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  for (size_t i = 0; i < phaseNames.size(); ++i) {
    out.Set(phaseNames[i], phaseSeconds[i]);
    phaseSeconds[i] = 0;
  }
  profiling = flag(info[0]);
  return out;
}

}  // namespace

void registerCnnStep(Napi::Env env, Napi::Object exports) {
  exportEntry<CnnStepPlan>(env, exports, "cnnStepPlan");
  exportEntry<CnnStepRun>(env, exports, "cnnStepRun");
  exportEntry<CnnStepDropoutMask>(env, exports, "cnnStepDropoutMask");
  exportEntry<CnnStepProfile>(env, exports, "cnnStepProfile");
  // The label-smoothing argument came with this flag: an addon without it would ignore ε.
  exports.Set("cnnStepSmoothing", Napi::Boolean::New(env, true));
  // Conv layers' `keep` came with this flag: an addon without it would train them without dropout.
  exports.Set("cnnStepConvDropout", Napi::Boolean::New(env, true));
  // Conv layers' `batchNorm` came with this flag: an addon without it would train them as plain convolutions.
  exports.Set("cnnStepBatchNorm", Napi::Boolean::New(env, true));
}

}  // namespace mn
