// Batched matrix multiply on oneDNN: C[b] = op(A[b]) x op(B[b]) (+ bias) (+ relu), batch dims
// broadcast when one side has batch 1. Transposes are expressed as strides, never materialised.
#include "common.h"
#include <unordered_map>

namespace mn {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct MatmulKey {
  int64_t ba, bb, m, n, k;
  bool ta, tb, bias;
  int act;
  // A primitive keeps the thread decomposition it was created with.
  int threads = omp_get_max_threads();
  bool operator==(const MatmulKey& o) const {
    return ba == o.ba && bb == o.bb && m == o.m && n == o.n && k == o.k && ta == o.ta && tb == o.tb &&
           bias == o.bias && act == o.act && threads == o.threads;
  }
};
struct MatmulKeyHash {
  size_t operator()(const MatmulKey& k) const {
    size_t h = 1469598103934665603ull;
    for (int64_t v : {k.ba, k.bb, k.m, k.n, k.k, int64_t(k.ta), int64_t(k.tb), int64_t(k.bias), int64_t(k.act), int64_t(k.threads)})
      h = (h ^ size_t(v)) * 1099511628211ull;
    return h;
  }
};
struct MatmulPrim {
  memory::desc a, b, c, bias;
  dnnl::matmul prim;
};

// The product restricted to output columns [n0, n0 + nPart) of an n-column result: B, C and the
// bias keep their full row strides, so a part reads and writes the caller's arrays in place.
MatmulPrim build(const MatmulKey& key, int64_t nPart) {
  int64_t bc = std::max(key.ba, key.bb), n = key.n;
  // A is stored [ba, m, k] or, transposed, [ba, k, m]; strides describe the logical [ba, m, k] view.
  memory::desc a({key.ba, key.m, key.k}, dt::f32,
                 key.ta ? memory::dims{key.m * key.k, 1, key.m} : memory::dims{key.m * key.k, key.k, 1});
  memory::desc b({key.bb, key.k, nPart}, dt::f32,
                 key.tb ? memory::dims{key.k * n, 1, key.k} : memory::dims{key.k * n, n, 1});
  memory::desc c({bc, key.m, nPart}, dt::f32, memory::dims{key.m * n, n, 1});
  memory::desc bias({1, 1, nPart}, dt::f32, tag::abc);
  dnnl::primitive_attr attr;
  if (key.act == 1) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  auto desc = key.bias ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c);
  dnnl::matmul::primitive_desc pd(desc, attr, cpuEngine());
  return MatmulPrim{a, b, c, bias, dnnl::matmul(pd)};
}

std::unordered_map<MatmulKey, MatmulPrim, MatmulKeyHash> cache;
// Two column halves of one product, for the coarse two-thread split below.
std::unordered_map<MatmulKey, std::pair<MatmulPrim, MatmulPrim>, MatmulKeyHash> halves;

MatmulPrim& whole(const MatmulKey& key) {
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, build(key, key.n)).first;
  return it->second;
}

std::pair<MatmulPrim, MatmulPrim>& split(const MatmulKey& key) {
  auto it = halves.find(key);
  if (it == halves.end()) {
    SingleThreadedCreation scope;
    it = halves.emplace(key, std::make_pair(build(key, key.n / 2), build(key, key.n - key.n / 2))).first;
  }
  return it->second;
}

// Products worth two cores: oneDNN's own threading splits them finely (a barrier per block), which
// on this shared 2-vCPU machine was slower than one thread; two independent halves need one.
bool splitEnabled = true;
bool worthSplitting(const MatmulKey& key) {
  return splitEnabled && omp_get_max_threads() >= 2 && key.n >= 64 && key.m * key.n * key.k >= (int64_t(1) << 21);
}

void run(MatmulPrim& p, dnnl::stream& stream, float* a, float* b, float* c, float* bias) {
  auto& eng = cpuEngine();
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(p.a, eng, a)}, {DNNL_ARG_WEIGHTS, memory(p.b, eng, b)},
                                       {DNNL_ARG_DST, memory(p.c, eng, c)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, memory(p.bias, eng, bias));
  p.prim.execute(stream, args);
  stream.wait();
}

// matmul(a, b, out, batchA, batchB, m, n, k, transposeA, transposeB, bias|null, activation)
// activation: 0 none, 1 relu.
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  MatmulKey key{i64(info[3]), i64(info[4]), i64(info[5]), i64(info[6]), i64(info[7]),
                flag(info[8]),  flag(info[9]),  info[10].IsTypedArray(), static_cast<int>(i64(info[11]))};
  float* a = floats(info[0]);
  float* b = floats(info[1]);
  float* c = floats(info[2]);
  float* bias = key.bias ? floats(info[10]) : nullptr;
  if (!worthSplitting(key)) {
    run(whole(key), cpuStream(), a, b, c, bias);
    return info.Env().Undefined();
  }
  auto& parts = split(key);
  int64_t n0 = key.n / 2;
  static dnnl::stream streams[2] = {dnnl::stream(cpuEngine()), dnnl::stream(cpuEngine())};
  // Inside the parallel region oneDNN runs each half on its calling thread (it does not nest).
  std::string failure;
#pragma omp parallel num_threads(2)
  {
    try {
      if (omp_get_thread_num() == 0) {
        run(parts.first, streams[0], a, b, c, bias);
      } else {
        run(parts.second, streams[1], a, b + (key.tb ? n0 * key.k : n0), c + n0, bias ? bias + n0 : nullptr);
      }
    } catch (const std::exception& e) {  // an exception must not leave an OpenMP region
#pragma omp critical
      failure = e.what();
    }
  }
  if (!failure.empty()) throw Napi::Error::New(info.Env(), "matmul: " + failure);
  return info.Env().Undefined();
}

// setMatmulSplit(on): whether large products run as two column halves, one per thread (A/B timing).
Napi::Value SetMatmulSplit(const Napi::CallbackInfo& info) {
  bool previous = splitEnabled;
  splitEnabled = flag(info[0]);
  return Napi::Boolean::New(info.Env(), previous);
}

}  // namespace

void registerMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("setMatmulSplit", Napi::Function::New(env, SetMatmulSplit));
}

}  // namespace mn
