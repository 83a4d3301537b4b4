// 2-D convolution on oneDNN with TensorFlow's layouts: activations NHWC, filters HWIO.
// Activations stay NHWC (oneDNN has direct NHWC kernels); filters are reordered into whatever
// blocked layout the chosen kernel wants, into scratch memory owned by the cached entry.
#include "common.h"
#include <map>
#include <string>
#include <memory>
#include <unordered_map>
#include <vector>

namespace mn {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Geometry {
  int64_t n, h, w, c, fh, fw, o, oh, ow, sh, sw, dh, dw, pt, pl, pb, pr;
  static Geometry from(const Napi::CallbackInfo& info, int at) {
    Geometry g;
    int64_t* f = &g.n;
    for (int i = 0; i < 17; ++i) f[i] = i64(info[at + i]);
    return g;
  }
  std::vector<int64_t> key() const { return std::vector<int64_t>(&n, &n + 17); }
  memory::desc src() const { return memory::desc({n, c, h, w}, dt::f32, tag::nhwc); }
  memory::desc dst() const { return memory::desc({n, o, oh, ow}, dt::f32, tag::nhwc); }
  memory::desc weightsHwio() const { return memory::desc({o, c, fh, fw}, dt::f32, tag::hwio); }
  memory::desc weightsAny() const { return memory::desc({o, c, fh, fw}, dt::f32, tag::any); }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }
};

// Copies between a user layout and a primitive's preferred layout, skipping the copy when they match.
struct Relayout {
  bool needed = false;
  memory scratch;
  dnnl::reorder prim;
  void init(const memory::desc& from, const memory::desc& to, bool toPrimitive) {
    needed = from != to;
    if (!needed) return;
    scratch = memory(toPrimitive ? to : from, cpuEngine());
    prim = dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), from, cpuEngine(), to));
  }
};

struct Forward {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  Relayout weights;
};
struct BackwardData {
  dnnl::convolution_backward_data prim;
  Relayout weights;
};
struct BackwardWeights {
  dnnl::convolution_backward_weights prim;
  Relayout diffWeights;
  memory::desc diffWeightsDesc;
};
struct Entry {
  std::map<int, std::unique_ptr<Forward>> forward;  // by (bias, activation)
  std::unique_ptr<BackwardData> backwardData;
  std::unique_ptr<BackwardWeights> backwardWeights;
};

std::map<std::vector<int64_t>, Entry> cache;

Forward& forward(Entry& e, const Geometry& g, bool bias, int act) {
  int variant = (bias ? 1 : 0) | (act << 1);
  auto& slot = e.forward[variant];
  if (slot) return *slot;
  memory::desc biasMd({g.o}, dt::f32, tag::x);
  auto desc = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                     dnnl::algorithm::convolution_direct, g.src(), g.weightsAny(),
                                                     biasMd, g.dst(), g.strides(), g.dilates(), g.padL(), g.padR())
                   : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                     dnnl::algorithm::convolution_direct, g.src(), g.weightsAny(),
                                                     g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
  dnnl::primitive_attr attr;
  if (act == 1) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  slot.reset(new Forward{dnnl::convolution_forward::primitive_desc(desc, attr, cpuEngine()), {}, {}});
  slot->prim = dnnl::convolution_forward(slot->pd);
  slot->weights.init(g.weightsHwio(), slot->pd.weights_desc(), true);
  return *slot;
}

// part: 0 and 1 for the two half-batches of a split call (own primitives and scratch buffers, so
// the two threads never share one), 2 for a whole call. Keyed by the thread count too: a primitive
// keeps the thread decomposition it was created with.
constexpr int kWhole = 2;
Entry& entry(const Geometry& g, int part = kWhole) {
  auto key = g.key();
  key.push_back(part);
  key.push_back(omp_get_max_threads());
  return cache[key];
}

memory weightsFor(Relayout& r, const memory::desc& hwio, float* data, dnnl::stream& stream) {
  memory user(hwio, cpuEngine(), data);
  if (!r.needed) return user;
  r.prim.execute(stream, user, r.scratch);
  return r.scratch;
}

// Convolutions worth two cores run as two half-batches, one per thread, each a single-threaded
// oneDNN call (oneDNN does not nest inside an OpenMP region): one barrier per kernel instead of
// oneDNN's per-block synchronisation, which scales poorly on this shared 2-vCPU machine.
bool splitEnabled = true;
bool worthSplitting(const Geometry& g) {
  return splitEnabled && omp_get_max_threads() >= 2 && g.n >= 2 &&
         g.n * g.oh * g.ow * g.o * g.fh * g.fw * g.c >= (int64_t(1) << 21);
}

Geometry half(const Geometry& g, int part) {
  Geometry h = g;
  h.n = part == 0 ? g.n / 2 : g.n - g.n / 2;
  return h;
}

// Runs body(half, firstImage, stream, part) for the two half-batches on two threads.
template <typename F>
void inHalves(const Napi::Env& env, const Geometry& g, F&& body) {
  static dnnl::stream streams[2] = {dnnl::stream(cpuEngine()), dnnl::stream(cpuEngine())};
  Geometry halves[2] = {half(g, 0), half(g, 1)};
  std::string failure;
#pragma omp parallel num_threads(2)
  {
    int part = omp_get_thread_num();
    try {
      body(halves[part], part == 0 ? 0 : halves[0].n, streams[part], part);
    } catch (const std::exception& e) {  // an exception must not leave an OpenMP region
#pragma omp critical
      failure = e.what();
    }
  }
  if (!failure.empty()) throw Napi::Error::New(env, "convolution: " + failure);
}

void runForward(Forward& f, const Geometry& g, float* x, float* filter, float* out, float* bias, dnnl::stream& stream) {
  auto& eng = cpuEngine();
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(g.src(), eng, x)},
                                       {DNNL_ARG_WEIGHTS, weightsFor(f.weights, g.weightsHwio(), filter, stream)},
                                       {DNNL_ARG_DST, memory(g.dst(), eng, out)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(memory::desc({g.o}, dt::f32, tag::x), eng, bias));
  f.prim.execute(stream, args);
  stream.wait();
}

// conv2d(x, filter, out, bias|null, activation, ...geometry)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Geometry g = Geometry::from(info, 5);
  float* x = floats(info[0]);
  float* filter = floats(info[1]);
  float* out = floats(info[2]);
  float* bias = info[3].IsTypedArray() ? floats(info[3]) : nullptr;
  int act = static_cast<int>(i64(info[4]));
  if (!worthSplitting(g)) {
    runForward(forward(entry(g), g, bias != nullptr, act), g, x, filter, out, bias, cpuStream());
    return info.Env().Undefined();
  }
  // Both halves' primitives are looked up (or made) before the parallel region: the cache is not
  // thread-safe.
  Forward* parts[2];
  {
    SingleThreadedCreation scope;
    for (int part : {0, 1}) {
      Geometry h = half(g, part);
      parts[part] = &forward(entry(h, part), h, bias != nullptr, act);
    }
  }
  inHalves(info.Env(), g, [&](const Geometry& h, int64_t first, dnnl::stream& stream, int part) {
    runForward(*parts[part], h, x + first * g.h * g.w * g.c, filter, out + first * g.oh * g.ow * g.o, bias, stream);
  });
  return info.Env().Undefined();
}

BackwardData& backwardData(const Geometry& g, int part) {
  Entry& e = entry(g, part);
  if (!e.backwardData) {
    Forward& hint = forward(e, g, false, 0);
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, g.src(), g.weightsAny(), g.dst(),
                                              g.strides(), g.dilates(), g.padL(), g.padR());
    dnnl::convolution_backward_data::primitive_desc pd(desc, cpuEngine(), hint.pd);
    e.backwardData.reset(new BackwardData{dnnl::convolution_backward_data(pd), {}});
    e.backwardData->weights.init(g.weightsHwio(), pd.weights_desc(), true);
  }
  return *e.backwardData;
}

void runBackwardData(BackwardData& b, const Geometry& g, float* dy, float* filter, float* dx, dnnl::stream& stream) {
  auto& eng = cpuEngine();
  b.prim.execute(stream, {{DNNL_ARG_DIFF_DST, memory(g.dst(), eng, dy)},
                          {DNNL_ARG_WEIGHTS, weightsFor(b.weights, g.weightsHwio(), filter, stream)},
                          {DNNL_ARG_DIFF_SRC, memory(g.src(), eng, dx)}});
  stream.wait();
}

// conv2dBackpropInput(dy, filter, dx, ...geometry)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  Geometry g = Geometry::from(info, 3);
  float* dy = floats(info[0]);
  float* filter = floats(info[1]);
  float* dx = floats(info[2]);
  if (!worthSplitting(g)) {
    runBackwardData(backwardData(g, kWhole), g, dy, filter, dx, cpuStream());
    return info.Env().Undefined();
  }
  BackwardData* parts[2];
  {
    SingleThreadedCreation scope;
    parts[0] = &backwardData(half(g, 0), 0);
    parts[1] = &backwardData(half(g, 1), 1);
  }
  inHalves(info.Env(), g, [&](const Geometry& h, int64_t first, dnnl::stream& stream, int part) {
    runBackwardData(*parts[part], h, dy + first * g.oh * g.ow * g.o, filter, dx + first * g.h * g.w * g.c, stream);
  });
  return info.Env().Undefined();
}

BackwardWeights& backwardWeights(const Geometry& g, int part) {
  Entry& e = entry(g, part);
  if (!e.backwardWeights) {
    Forward& hint = forward(e, g, false, 0);
    dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, g.src(), g.weightsAny(),
                                                 g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
    dnnl::convolution_backward_weights::primitive_desc pd(desc, cpuEngine(), hint.pd);
    e.backwardWeights.reset(new BackwardWeights{dnnl::convolution_backward_weights(pd), {}, pd.diff_weights_desc()});
    e.backwardWeights->diffWeights.init(pd.diff_weights_desc(), g.weightsHwio(), false);
  }
  return *e.backwardWeights;
}

void runBackwardWeights(BackwardWeights& b, const Geometry& g, float* x, float* dy, float* dw, dnnl::stream& stream) {
  auto& eng = cpuEngine();
  memory user(g.weightsHwio(), eng, dw);
  memory target = b.diffWeights.needed ? b.diffWeights.scratch : user;
  b.prim.execute(stream, {{DNNL_ARG_SRC, memory(g.src(), eng, x)},
                          {DNNL_ARG_DIFF_DST, memory(g.dst(), eng, dy)},
                          {DNNL_ARG_DIFF_WEIGHTS, target}});
  if (b.diffWeights.needed) b.diffWeights.prim.execute(stream, target, user);
  stream.wait();
}

// conv2dBackpropFilter(x, dy, dw, ...geometry)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  Geometry g = Geometry::from(info, 3);
  float* x = floats(info[0]);
  float* dy = floats(info[1]);
  float* dw = floats(info[2]);
  if (!worthSplitting(g)) {
    runBackwardWeights(backwardWeights(g, kWhole), g, x, dy, dw, cpuStream());
    return info.Env().Undefined();
  }
  BackwardWeights* parts[2];
  {
    SingleThreadedCreation scope;
    parts[0] = &backwardWeights(half(g, 0), 0);
    parts[1] = &backwardWeights(half(g, 1), 1);
  }
  // Each half's filter gradient is a partial sum over its images; the second goes to a private
  // buffer and is added in after both finish.
  int64_t size = g.fh * g.fw * g.c * g.o;
  static std::vector<float> partial;
  partial.resize(size);
  float* second = partial.data();
  inHalves(info.Env(), g, [&](const Geometry& h, int64_t first, dnnl::stream& stream, int part) {
    runBackwardWeights(*parts[part], h, x + first * g.h * g.w * g.c, dy + first * g.oh * g.ow * g.o, part == 0 ? dw : second, stream);
  });
  for (int64_t i = 0; i < size; ++i) dw[i] += second[i];
  return info.Env().Undefined();
}

// setConvSplit(on): whether large convolutions run as two half-batches, one per thread.
Napi::Value SetConvSplit(const Napi::CallbackInfo& info) {
  bool previous = splitEnabled;
  splitEnabled = flag(info[0]);
  return Napi::Boolean::New(info.Env(), previous);
}

}  // namespace

void registerConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2d", Napi::Function::New(env, Conv2d));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2dBackpropInput));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2dBackpropFilter));
  exports.Set("setConvSplit", Napi::Function::New(env, SetConvSplit));
}

}  // namespace mn
