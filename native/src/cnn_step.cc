// A whole training step of a small fixed CNN in one call: conv k1×k1×c1 VALID + bias, ReLU →
// max-pool 2×2 → conv k2×k2×c2 VALID + bias, ReLU → max-pool 2×2 → fc hidden + bias, ReLU → fc
// classes + bias → mean softmax cross-entropy; forward, backward and (optionally) Adam.
//
// Buffers and oneDNN primitives are planned once per batch size. The batch is split between
// "workers" (one per OpenMP thread): each runs the whole forward and backward pass on its share of
// the images with its own single-threaded primitives, buffers and scratchpads, so a step has one
// parallel region and one barrier (summing the workers' gradients), instead of one fork/join per
// kernel. With one worker the primitives use oneDNN's own threading.
#include "common.h"
#include "pool_grad.h"
#include <cmath>
#include <ctime>
#include <memory>
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

struct Shape {
  int64_t k1, c1, k2, c2, hidden, classes;
  int64_t h0 = 28, h1, p1, h2, p2, flat;
  void derive() {
    h1 = h0 - k1 + 1;
    p1 = h1 / 2;
    h2 = p1 - k2 + 1;
    p2 = h2 / 2;
    flat = p2 * p2 * c2;
  }
  // Parameter sizes, in the order of the weights array: conv1 W, b, conv2 W, b, fc1 W, b, fc2 W, b.
  std::vector<int64_t> sizes() const {
    return {k1 * k1 * c1, c1, k2 * k2 * c1 * c2, c2, flat * hidden, hidden, hidden * classes, classes};
  }
};

memory::desc nhwc(int64_t n, int64_t c, int64_t h) { return memory::desc({n, c, h, h}, dt::f32, tag::nhwc); }
memory::desc mat(int64_t r, int64_t c, tag t = tag::ab) { return memory::desc({r, c}, dt::f32, t); }

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

// The first layer for 24 channels and 5×5 filters on CPUs with AVX-512 (checked at run time; the
// addon's baseline is AVX2): direct loops over GCC vector types, 24 channels = 16 + 8 lanes.
//  - forward: conv + bias + ReLU and the 2×2 max-pool in one pass (y1 is still written: the
//    backward pass reads it);
//  - backward: from the pooled gradient through the pool and the ReLU straight into the filter and
//    bias gradients, without materialising the pre-activation gradient (a 4× larger map).
namespace avx512 {

typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));
constexpr int kC = 24, kK = 5;
#define MN_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,prefer-vector-width=512")))

struct Ch {
  v16 lo;
  v8 hi;
};
MN_AVX512 inline Ch load(const float* p) { return {*reinterpret_cast<const v16*>(p), *reinterpret_cast<const v8*>(p + 16)}; }
MN_AVX512 inline void store(float* p, const Ch& v) {
  *reinterpret_cast<v16*>(p) = v.lo;
  *reinterpret_cast<v8*>(p + 16) = v.hi;
}
MN_AVX512 inline void fma(Ch& acc, float a, const Ch& w) {
  acc.lo += a * w.lo;
  acc.hi += a * w.hi;
}
MN_AVX512 inline Ch relu(const Ch& v) {
  const v16 z16 = {};
  const v8 z8 = {};
  return {v.lo > z16 ? v.lo : z16, v.hi > z8 ? v.hi : z8};
}
MN_AVX512 inline Ch max(const Ch& a, const Ch& b) { return {a.lo > b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi}; }

// x [n, h, h], w [5·5, 24] (HWIO), b [24] → y [n, oh, oh, 24] = relu(conv + b), p = its 2×2 max-pool.
MN_AVX512 void convPoolForward(const float* __restrict x, const float* __restrict w, const float* __restrict b,
                               float* __restrict y, float* __restrict p, int64_t n, int64_t h) {
  const int64_t oh = h - kK + 1, ph = oh / 2;
  const Ch bias = load(b);
  for (int64_t img = 0; img < n; ++img) {
    const float* xi = x + img * h * h;
    for (int64_t py = 0; py < ph; ++py)
      for (int64_t px = 0; px < ph; ++px) {
        Ch a0 = bias, a1 = bias, a2 = bias, a3 = bias;
        const float* x0 = xi + (2 * py) * h + 2 * px;
        for (int ky = 0; ky < kK; ++ky) {
          const float* r0 = x0 + ky * h;
          const float* r1 = r0 + h;
#pragma GCC unroll 5
          for (int kx = 0; kx < kK; ++kx) {
            const Ch wt = load(w + (ky * kK + kx) * kC);
            fma(a0, r0[kx], wt);
            fma(a1, r0[kx + 1], wt);
            fma(a2, r1[kx], wt);
            fma(a3, r1[kx + 1], wt);
          }
        }
        float* y00 = y + ((img * oh + 2 * py) * oh + 2 * px) * kC;
        float* y10 = y00 + oh * kC;
        const Ch q0 = relu(a0), q1 = relu(a1), q2 = relu(a2), q3 = relu(a3);
        store(y00, q0);
        store(y00 + kC, q1);
        store(y10, q2);
        store(y10 + kC, q3);
        store(p + ((img * ph + py) * ph + px) * kC, max(max(q0, q1), max(q2, q3)));
      }
  }
}

// From dp [n, ph, ph, 24] (the pooled gradient) through the pool and ReLU of y: dw [5·5, 24] and
// db [24] (both overwritten). `rowScratch` holds ph·4·24 floats: one pooled row's routed gradients.
MN_AVX512 void convPoolBackward(const float* __restrict x, const float* __restrict y, const float* __restrict dp,
                                float* __restrict dw, float* __restrict db, float* __restrict rowScratch, int64_t n,
                                int64_t h) {
  const int64_t oh = h - kK + 1, ph = oh / 2;
  Ch acc[kK * kK];
  for (auto& a : acc) a = Ch{v16{}, v8{}};
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
        Ch* row = acc + ky * kK;
        Ch r0 = row[0], r1 = row[1], r2 = row[2], r3 = row[3], r4 = row[4];
        for (int64_t px = 0; px < ph; ++px) {
          const float* G = rowScratch + px * 4 * kC;
          for (int q = 0; q < 4; ++q) {
            const Ch gq = load(G + q * kC);
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

bool usable(const Shape& s) {
  static const bool avx512 = (__builtin_cpu_init(), true) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
  const char* off = getenv("MNIST_CNN_STEP_DIRECT");  // 0: oneDNN for the first layer too (A/B timing)
  // MNIST_CPU_ISA=avx2 (src/backend/addon.ts) caps oneDNN through DNNL_MAX_CPU_ISA: cap these too.
  const char* cap = getenv("DNNL_MAX_CPU_ISA");
  const bool capped = cap && std::string(cap).find("AVX512") != 0;
  return avx512 && !capped && s.c1 == kC && s.k1 == kK && !(off && off[0] == '0');
}

}  // namespace avx512

// Column sums of an [rows, cols] matrix added to out.
void columnSums(const float* __restrict x, float* __restrict out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k) out[k] += x[r * cols + k];
}

// One worker's share of the batch: everything it needs, planned once.
struct Worker {
  int64_t first = 0, n = 0;
  dnnl::stream stream;
  std::vector<float> y1, p1, y2, p2, h, z, dz, dh, dp2, dy2, dp1, dy1;
  std::vector<float> grads;  // this worker's gradients, all parameters back to back
  bool direct = false;       // the first layer by avx512:: instead of oneDNN
  std::vector<float> rowScratch;
  Run conv1, conv1W, conv2, conv2D, conv2W, fc1, fc2, fc2W, fc2D, fc1W, fc1D;
  Relayout w1, w2f, w2d, g1, g2;

  void plan(const Shape& s, int64_t first_, int64_t n_, int64_t paramCount) {
    first = first_;
    n = n_;
    auto& eng = cpuEngine();
    stream = dnnl::stream(eng);
    y1.resize(n * s.h1 * s.h1 * s.c1);
    dy1.resize(y1.size());
    p1.resize(n * s.p1 * s.p1 * s.c1);
    dp1.resize(p1.size());
    y2.resize(n * s.h2 * s.h2 * s.c2);
    dy2.resize(y2.size());
    p2.resize(n * s.flat);
    dp2.resize(p2.size());
    h.resize(n * s.hidden);
    dh.resize(h.size());
    z.resize(n * s.classes);
    dz.resize(z.size());
    grads.resize(paramCount);

    const memory::dims one{1, 1}, zero{0, 0};
    const auto x0 = nhwc(n, 1, s.h0), y1d = nhwc(n, s.c1, s.h1), p1d = nhwc(n, s.c1, s.p1), y2d = nhwc(n, s.c2, s.h2);
    const auto w1Any = memory::desc({s.c1, 1, s.k1, s.k1}, dt::f32, tag::any);
    const auto w1User = memory::desc({s.c1, 1, s.k1, s.k1}, dt::f32, tag::hwio);
    const auto w2Any = memory::desc({s.c2, s.c1, s.k2, s.k2}, dt::f32, tag::any);
    const auto w2User = memory::desc({s.c2, s.c1, s.k2, s.k2}, dt::f32, tag::hwio);
    const auto b1d = memory::desc({s.c1}, dt::f32, tag::x), b2d = memory::desc({s.c2}, dt::f32, tag::x);
    using cf = dnnl::convolution_forward;
    using cbd = dnnl::convolution_backward_data;
    using cbw = dnnl::convolution_backward_weights;
    const auto alg = dnnl::algorithm::convolution_direct;
    const auto train = dnnl::prop_kind::forward_training;

    direct = avx512::usable(s);
    if (direct) {
      rowScratch.resize(s.p1 * 4 * s.c1);
    } else {
      cf::primitive_desc c1pd(cf::desc(train, alg, x0, w1Any, b1d, y1d, one, zero, zero), reluAttr(), eng);
      conv1 = makeRun<cf::primitive_desc, cf>(c1pd);
      w1.init(w1User, c1pd.weights_desc(), true);
      cbw::primitive_desc c1wpd(cbw::desc(alg, x0, w1Any, y1d, one, zero, zero), userScratch(), eng, c1pd);
      conv1W = makeRun<cbw::primitive_desc, cbw>(c1wpd);
      g1.init(w1User, c1wpd.diff_weights_desc(), false);
    }

    cf::primitive_desc c2pd(cf::desc(train, alg, p1d, w2Any, b2d, y2d, one, zero, zero), reluAttr(), eng);
    conv2 = makeRun<cf::primitive_desc, cf>(c2pd);
    w2f.init(w2User, c2pd.weights_desc(), true);
    cbd::primitive_desc c2dpd(cbd::desc(alg, p1d, w2Any, y2d, one, zero, zero), userScratch(), eng, c2pd);
    conv2D = makeRun<cbd::primitive_desc, cbd>(c2dpd);
    w2d.init(w2User, c2dpd.weights_desc(), true);
    cbw::primitive_desc c2wpd(cbw::desc(alg, p1d, w2Any, y2d, one, zero, zero), userScratch(), eng, c2pd);
    conv2W = makeRun<cbw::primitive_desc, cbw>(c2wpd);
    g2.init(w2User, c2wpd.diff_weights_desc(), false);

    using mm = dnnl::matmul;
    auto matmul = [&](const memory::desc& a, const memory::desc& b, const memory::desc* bias, const memory::desc& c,
                      const dnnl::primitive_attr& attr) {
      mm::primitive_desc pd(bias ? mm::desc(a, b, *bias, c) : mm::desc(a, b, c), attr, eng);
      return makeRun<mm::primitive_desc, mm>(pd);
    };
    const auto fb1 = mat(1, s.hidden), fb2 = mat(1, s.classes);
    fc1 = matmul(mat(n, s.flat), mat(s.flat, s.hidden), &fb1, mat(n, s.hidden), reluAttr());
    fc2 = matmul(mat(n, s.hidden), mat(s.hidden, s.classes), &fb2, mat(n, s.classes), userScratch());
    // Weight gradients: xᵀ·dy (x read transposed through its strides); input gradients: dy·Wᵀ.
    fc2W = matmul(mat(s.hidden, n, tag::ba), mat(n, s.classes), nullptr, mat(s.hidden, s.classes), userScratch());
    fc2D = matmul(mat(n, s.classes), mat(s.classes, s.hidden, tag::ba), nullptr, mat(n, s.hidden), userScratch());
    fc1W = matmul(mat(s.flat, n, tag::ba), mat(n, s.hidden), nullptr, mat(s.flat, s.hidden), userScratch());
    fc1D = matmul(mat(n, s.hidden), mat(s.hidden, s.flat, tag::ba), nullptr, mat(n, s.flat), userScratch());
  }
};

struct Plan {
  Shape shape;
  int64_t batch = 0;
  std::vector<int64_t> sizes, offsets;
  int64_t paramCount = 0;
  std::vector<Worker> workers;
};

// Per-phase CPU seconds of worker 0 (cnnStepProfile), for finding where a step goes.
constexpr int kPhases = 14;
const char* const kPhaseNames[kPhases] = {"conv1", "pool1", "conv2", "pool2", "fc", "loss", "fc back",
                                          "pool2 back", "conv2 back-data", "conv2 back-weights", "pool1 back",
                                          "conv1 back-weights", "sum + Adam", "whole call"};
double phaseSeconds[kPhases] = {};
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
  explicit PhaseClock(bool on_) : on(on_), t(on_ ? threadSeconds() : 0) {}
  void lap(int phase) {
    if (!on) return;
    double now = threadSeconds();
    phaseSeconds[phase] += now - t;
    t = now;
  }
};

// Pointer to worker-local memory wrapped as a oneDNN memory object (no copy).
memory wrap(const memory::desc& md, const float* p) { return memory(md, cpuEngine(), const_cast<float*>(p)); }

// Forward and backward of one worker's images; returns its summed (not yet averaged) loss.
double workerStep(const Plan& plan, Worker& wk, const float* images, const int32_t* labels, float* const* weights,
                  int64_t batch) {
  const Shape& s = plan.shape;
  const int64_t n = wk.n;
  auto& st = wk.stream;
  const float* x = images + wk.first * s.h0 * s.h0;
  const int32_t* y = labels + wk.first;
  float* g = wk.grads.data();
  float* gW1 = g + plan.offsets[0];
  float* gB1 = g + plan.offsets[1];
  float* gW2 = g + plan.offsets[2];
  float* gB2 = g + plan.offsets[3];
  float* gW3 = g + plan.offsets[4];
  float* gB3 = g + plan.offsets[5];
  float* gW4 = g + plan.offsets[6];
  float* gB4 = g + plan.offsets[7];
  const auto x0 = nhwc(n, 1, s.h0), y1d = nhwc(n, s.c1, s.h1), p1d = nhwc(n, s.c1, s.p1), y2d = nhwc(n, s.c2, s.h2);

  PhaseClock clock(profiling && wk.first == 0);
  // Forward.
  if (wk.direct) {
    avx512::convPoolForward(x, weights[0], weights[1], wk.y1.data(), wk.p1.data(), n, s.h0);
    clock.lap(0);
  } else {
    memory w1 = wk.w1.in(st, weights[0]);
    wk.conv1.exec(st, {{DNNL_ARG_SRC, wrap(x0, x)}, {DNNL_ARG_WEIGHTS, w1},
                       {DNNL_ARG_BIAS, wrap(memory::desc({s.c1}, dt::f32, tag::x), weights[1])},
                       {DNNL_ARG_DST, wrap(y1d, wk.y1.data())}});
    st.wait();
    clock.lap(0);
    pool2x2(wk.y1.data(), wk.p1.data(), n, s.h1, s.c1);
    clock.lap(1);
  }
  memory w2 = wk.w2f.in(st, weights[2]);
  wk.conv2.exec(st, {{DNNL_ARG_SRC, wrap(p1d, wk.p1.data())}, {DNNL_ARG_WEIGHTS, w2},
                     {DNNL_ARG_BIAS, wrap(memory::desc({s.c2}, dt::f32, tag::x), weights[3])},
                     {DNNL_ARG_DST, wrap(y2d, wk.y2.data())}});
  st.wait();
  clock.lap(2);
  pool2x2(wk.y2.data(), wk.p2.data(), n, s.h2, s.c2);
  clock.lap(3);
  wk.fc1.exec(st, {{DNNL_ARG_SRC, wrap(mat(n, s.flat), wk.p2.data())}, {DNNL_ARG_WEIGHTS, wrap(mat(s.flat, s.hidden), weights[4])},
                   {DNNL_ARG_BIAS, wrap(mat(1, s.hidden), weights[5])}, {DNNL_ARG_DST, wrap(mat(n, s.hidden), wk.h.data())}});
  wk.fc2.exec(st, {{DNNL_ARG_SRC, wrap(mat(n, s.hidden), wk.h.data())}, {DNNL_ARG_WEIGHTS, wrap(mat(s.hidden, s.classes), weights[6])},
                   {DNNL_ARG_BIAS, wrap(mat(1, s.classes), weights[7])}, {DNNL_ARG_DST, wrap(mat(n, s.classes), wk.z.data())}});
  st.wait();
  clock.lap(4);

  // Mean softmax cross-entropy over the whole batch, and its gradient (softmax − one-hot) / batch.
  double loss = 0;
  const float inv = 1.f / static_cast<float>(batch);
  for (int64_t r = 0; r < n; ++r) {
    const float* zr = wk.z.data() + r * s.classes;
    float* dr = wk.dz.data() + r * s.classes;
    float mx = zr[0];
    for (int64_t k = 1; k < s.classes; ++k) mx = std::max(mx, zr[k]);
    double sum = 0;
    for (int64_t k = 0; k < s.classes; ++k) sum += std::exp(static_cast<double>(zr[k] - mx));
    const int64_t label = y[r];
    loss += std::log(sum) - static_cast<double>(zr[label] - mx);
    for (int64_t k = 0; k < s.classes; ++k) {
      const float p = static_cast<float>(std::exp(static_cast<double>(zr[k] - mx)) / sum);
      dr[k] = (p - (k == label ? 1.f : 0.f)) * inv;
    }
  }

  clock.lap(5);
  // Backward.
  std::fill(wk.grads.begin(), wk.grads.end(), 0.f);
  columnSums(wk.dz.data(), gB4, n, s.classes);
  wk.fc2W.exec(st, {{DNNL_ARG_SRC, wrap(mat(s.hidden, n, tag::ba), wk.h.data())}, {DNNL_ARG_WEIGHTS, wrap(mat(n, s.classes), wk.dz.data())},
                    {DNNL_ARG_DST, wrap(mat(s.hidden, s.classes), gW4)}});
  wk.fc2D.exec(st, {{DNNL_ARG_SRC, wrap(mat(n, s.classes), wk.dz.data())}, {DNNL_ARG_WEIGHTS, wrap(mat(s.classes, s.hidden, tag::ba), weights[6])},
                    {DNNL_ARG_DST, wrap(mat(n, s.hidden), wk.dh.data())}});
  st.wait();
  for (size_t i = 0; i < wk.dh.size(); ++i) wk.dh[i] = wk.h[i] > 0.f ? wk.dh[i] : 0.f;
  columnSums(wk.dh.data(), gB3, n, s.hidden);
  wk.fc1W.exec(st, {{DNNL_ARG_SRC, wrap(mat(s.flat, n, tag::ba), wk.p2.data())}, {DNNL_ARG_WEIGHTS, wrap(mat(n, s.hidden), wk.dh.data())},
                    {DNNL_ARG_DST, wrap(mat(s.flat, s.hidden), gW3)}});
  wk.fc1D.exec(st, {{DNNL_ARG_SRC, wrap(mat(n, s.hidden), wk.dh.data())}, {DNNL_ARG_WEIGHTS, wrap(mat(s.hidden, s.flat, tag::ba), weights[4])},
                    {DNNL_ARG_DST, wrap(mat(n, s.flat), wk.dp2.data())}});
  st.wait();
  clock.lap(6);
  pool2x2ReluGrad(wk.dp2.data(), wk.y2.data(), wk.dy2.data(), gB2, n, s.h2, s.c2);
  clock.lap(7);
  memory w2d = wk.w2d.in(st, weights[2]);
  wk.conv2D.exec(st, {{DNNL_ARG_DIFF_DST, wrap(y2d, wk.dy2.data())}, {DNNL_ARG_WEIGHTS, w2d},
                      {DNNL_ARG_DIFF_SRC, wrap(p1d, wk.dp1.data())}});
  st.wait();
  clock.lap(8);
  wk.conv2W.exec(st, {{DNNL_ARG_SRC, wrap(p1d, wk.p1.data())}, {DNNL_ARG_DIFF_DST, wrap(y2d, wk.dy2.data())},
                      {DNNL_ARG_DIFF_WEIGHTS, wk.g2.out(gW2)}});
  wk.g2.flush(st);
  st.wait();
  clock.lap(9);
  if (wk.direct) {
    avx512::convPoolBackward(x, wk.y1.data(), wk.dp1.data(), gW1, gB1, wk.rowScratch.data(), n, s.h0);
    clock.lap(11);
  } else {
    pool2x2ReluGrad(wk.dp1.data(), wk.y1.data(), wk.dy1.data(), gB1, n, s.h1, s.c1);
    clock.lap(10);
    wk.conv1W.exec(st, {{DNNL_ARG_SRC, wrap(x0, x)}, {DNNL_ARG_DIFF_DST, wrap(y1d, wk.dy1.data())},
                        {DNNL_ARG_DIFF_WEIGHTS, wk.g1.out(gW1)}});
    wk.g1.flush(st);
    st.wait();
    clock.lap(11);
  }
  return loss;
}

struct AdamArgs {
  float lr, b1, b2, eps, c1, c2;
};

void adamRange(float* __restrict w, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t s,
               int64_t e, AdamArgs k) {
  const float oneMinusB1 = 1.f - k.b1, oneMinusB2 = 1.f - k.b2;
  for (int64_t i = s; i < e; ++i) {
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

// cnnStepPlan(batch, k1, c1, k2, c2, hidden, classes, workers) → a plan (External).
Napi::Value CnnStepPlan(const Napi::CallbackInfo& info) {
  auto plan = std::make_unique<Plan>();
  Shape& s = plan->shape;
  plan->batch = i64(info[0]);
  s.k1 = i64(info[1]);
  s.c1 = i64(info[2]);
  s.k2 = i64(info[3]);
  s.c2 = i64(info[4]);
  s.hidden = i64(info[5]);
  s.classes = i64(info[6]);
  s.derive();
  if (plan->batch < 1 || s.h1 % 2 || s.h2 % 2 || s.p2 < 1) throw Napi::Error::New(info.Env(), "cnnStepPlan: unsupported shape");
  plan->sizes = s.sizes();
  for (int64_t size : plan->sizes) {
    plan->offsets.push_back(plan->paramCount);
    plan->paramCount += size;
  }
  const int threads = omp_get_max_threads();
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>({i64(info[7]), threads, plan->batch}));
  // Split workers run single-threaded primitives inside one parallel region; a lone worker's use
  // oneDNN's own threading. oneDNN fixes a primitive's thread count when it is created.
  if (workers > 1) omp_set_num_threads(1);
  plan->workers.resize(workers);
  for (int64_t w = 0; w < workers; ++w) {
    const int64_t first = plan->batch * w / workers, last = plan->batch * (w + 1) / workers;
    plan->workers[w].plan(s, first, last - first, plan->paramCount);
  }
  if (workers > 1) omp_set_num_threads(threads);
  return Napi::External<Plan>::New(info.Env(), plan.release(), [](Napi::Env, Plan* p) { delete p; });
}

// cnnStepRun(plan, images, labels, weights[8], grads[8] | null, adam | null) → mean loss.
// Without adam: the gradients are written to grads. With adam = {m: [8], v: [8], lr, beta1, beta2,
// epsilonHat, c1, c2}: the weights are updated in place with TensorFlow's Adam (see optimizer.cc).
Napi::Value CnnStepRun(const Napi::CallbackInfo& info) {
  Plan& plan = *info[0].As<Napi::External<Plan>>().Data();
  const float* images = floats(info[1]);
  auto labelsArr = info[2].As<Napi::TypedArray>();
  const int32_t* labels =
      reinterpret_cast<const int32_t*>(static_cast<uint8_t*>(labelsArr.ArrayBuffer().Data()) + labelsArr.ByteOffset());
  for (int64_t i = 0; i < plan.batch; ++i)
    if (labels[i] < 0 || labels[i] >= plan.shape.classes) throw Napi::Error::New(info.Env(), "cnnStepRun: label out of range");
  std::vector<float*> weights = floatArrays(info[3], 8, "weight arrays");
  const bool withAdam = info.Length() > 5 && info[5].IsObject();
  std::vector<float*> grads, m, v;
  AdamArgs adam{};
  if (withAdam) {
    auto o = info[5].As<Napi::Object>();
    m = floatArrays(o.Get("m"), 8, "Adam m arrays");
    v = floatArrays(o.Get("v"), 8, "Adam v arrays");
    adam = {static_cast<float>(f64(o.Get("lr"))), static_cast<float>(f64(o.Get("beta1"))),
            static_cast<float>(f64(o.Get("beta2"))), static_cast<float>(f64(o.Get("epsilonHat"))),
            static_cast<float>(f64(o.Get("c1"))), static_cast<float>(f64(o.Get("c2")))};
  } else {
    grads = floatArrays(info[4], 8, "gradient arrays");
  }

  const int64_t nw = static_cast<int64_t>(plan.workers.size());
  std::vector<double> losses(nw, 0.0);
  PhaseClock callClock(profiling);
  // After every worker's backward pass: the summed gradient of parameter range [s, e) of the flat
  // parameter vector, then its update.
  auto finish = [&](int64_t s, int64_t e) {
    for (size_t p = 0; p < 8; ++p) {
      const int64_t lo = std::max(s, plan.offsets[p]), hi = std::min(e, plan.offsets[p] + plan.sizes[p]);
      if (lo >= hi) continue;
      float* sum = withAdam ? plan.workers[0].grads.data() + lo : grads[p] + (lo - plan.offsets[p]);
      if (!withAdam) std::copy(plan.workers[0].grads.data() + lo, plan.workers[0].grads.data() + hi, sum);
      for (int64_t w = 1; w < nw; ++w) {
        const float* part = plan.workers[w].grads.data() + lo;
        for (int64_t i = 0; i < hi - lo; ++i) sum[i] += part[i];
      }
      if (withAdam) {
        const int64_t at = lo - plan.offsets[p];
        adamRange(weights[p] + at, sum, m[p] + at, v[p] + at, 0, hi - lo, adam);
      }
    }
  };
  if (nw == 1) {
    losses[0] = workerStep(plan, plan.workers[0], images, labels, weights.data(), plan.batch);
    PhaseClock finishClock(profiling);
    finish(0, plan.paramCount);
    finishClock.lap(12);
  } else {
#pragma omp parallel num_threads(nw)
    {
      const int t = omp_get_thread_num();
      losses[t] = workerStep(plan, plan.workers[t], images, labels, weights.data(), plan.batch);
#pragma omp barrier
      const int64_t count = plan.paramCount;
      PhaseClock finishClock(profiling && t == 0);
      finish(count * t / nw, count * (t + 1) / nw);
      finishClock.lap(12);
    }
  }
  callClock.lap(13);
  double loss = 0;
  for (double l : losses) loss += l;
  return Napi::Number::New(info.Env(), loss / static_cast<double>(plan.batch));
}

// cnnStepProfile(on) → {phase: CPU seconds} of worker 0 since the last call; `on` turns the clock
// on or off.
Napi::Value CnnStepProfile(const Napi::CallbackInfo& info) {
  auto out = Napi::Object::New(info.Env());
  for (int i = 0; i < kPhases; ++i) {
    out.Set(kPhaseNames[i], phaseSeconds[i]);
    phaseSeconds[i] = 0;
  }
  profiling = flag(info[0]);
  return out;
}

}  // namespace

void registerCnnStep(Napi::Env env, Napi::Object exports) {
  exportEntry<CnnStepPlan>(env, exports, "cnnStepPlan");
  exportEntry<CnnStepRun>(env, exports, "cnnStepRun");
  exportEntry<CnnStepProfile>(env, exports, "cnnStepProfile");
}

}  // namespace mn
