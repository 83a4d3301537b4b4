// 2-D convolution on oneDNN with TensorFlow's layouts: activations NHWC, filters HWIO.
// Activations stay NHWC (oneDNN has direct NHWC kernels); filters are reordered into whatever
// blocked layout the chosen kernel wants, into scratch memory owned by the cached entry.
#include "common.h"
#include <map>
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

// Keyed by the thread count too: oneDNN fixes a primitive's thread decomposition when it is
// created, so after setThreads a shape gets new primitives.
Entry& entry(const Geometry& g) {
  auto key = g.key();
  key.push_back(omp_get_max_threads());
  return cache[key];
}

memory weightsFor(Relayout& r, const memory::desc& hwio, float* data) {
  memory user(hwio, cpuEngine(), data);
  if (!r.needed) return user;
  r.prim.execute(cpuStream(), user, r.scratch);
  return r.scratch;
}

// conv2d(x, filter, out, bias|null, activation, ...geometry)
Napi::Value Conv2d(const Napi::CallbackInfo& info) {
  Geometry g = Geometry::from(info, 5);
  bool bias = info[3].IsTypedArray();
  Forward& f = forward(entry(g), g, bias, static_cast<int>(i64(info[4])));
  auto& eng = cpuEngine();
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(g.src(), eng, floats(info[0]))},
                                       {DNNL_ARG_WEIGHTS, weightsFor(f.weights, g.weightsHwio(), floats(info[1]))},
                                       {DNNL_ARG_DST, memory(g.dst(), eng, floats(info[2]))}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(memory::desc({g.o}, dt::f32, tag::x), eng, floats(info[3])));
  f.prim.execute(cpuStream(), args);
  cpuStream().wait();
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, filter, dx, ...geometry)
Napi::Value Conv2dBackpropInput(const Napi::CallbackInfo& info) {
  Geometry g = Geometry::from(info, 3);
  Entry& e = entry(g);
  if (!e.backwardData) {
    Forward& hint = forward(e, g, false, 0);
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, g.src(), g.weightsAny(), g.dst(),
                                              g.strides(), g.dilates(), g.padL(), g.padR());
    dnnl::convolution_backward_data::primitive_desc pd(desc, cpuEngine(), hint.pd);
    e.backwardData.reset(new BackwardData{dnnl::convolution_backward_data(pd), {}});
    e.backwardData->weights.init(g.weightsHwio(), pd.weights_desc(), true);
  }
  BackwardData& b = *e.backwardData;
  auto& eng = cpuEngine();
  b.prim.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, memory(g.dst(), eng, floats(info[0]))},
                               {DNNL_ARG_WEIGHTS, weightsFor(b.weights, g.weightsHwio(), floats(info[1]))},
                               {DNNL_ARG_DIFF_SRC, memory(g.src(), eng, floats(info[2]))}});
  cpuStream().wait();
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dw, ...geometry)
Napi::Value Conv2dBackpropFilter(const Napi::CallbackInfo& info) {
  Geometry g = Geometry::from(info, 3);
  Entry& e = entry(g);
  if (!e.backwardWeights) {
    Forward& hint = forward(e, g, false, 0);
    dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, g.src(), g.weightsAny(),
                                                 g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
    dnnl::convolution_backward_weights::primitive_desc pd(desc, cpuEngine(), hint.pd);
    e.backwardWeights.reset(new BackwardWeights{dnnl::convolution_backward_weights(pd), {}, pd.diff_weights_desc()});
    e.backwardWeights->diffWeights.init(pd.diff_weights_desc(), g.weightsHwio(), false);
  }
  BackwardWeights& b = *e.backwardWeights;
  auto& eng = cpuEngine();
  memory user(g.weightsHwio(), eng, floats(info[2]));
  memory target = b.diffWeights.needed ? b.diffWeights.scratch : user;
  b.prim.execute(cpuStream(), {{DNNL_ARG_SRC, memory(g.src(), eng, floats(info[0]))},
                               {DNNL_ARG_DIFF_DST, memory(g.dst(), eng, floats(info[1]))},
                               {DNNL_ARG_DIFF_WEIGHTS, target}});
  if (b.diffWeights.needed) b.diffWeights.prim.execute(cpuStream(), target, user);
  cpuStream().wait();
  return info.Env().Undefined();
}

}  // namespace

void registerConv(Napi::Env env, Napi::Object exports) {
  exportEntry<Conv2d>(env, exports, "conv2d");
  exportEntry<Conv2dBackpropInput>(env, exports, "conv2dBackpropInput");
  exportEntry<Conv2dBackpropFilter>(env, exports, "conv2dBackpropFilter");
}

}  // namespace mn
