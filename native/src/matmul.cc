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
  // oneDNN fixes a primitive's thread decomposition when it is created: after setThreads, a new one.
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

std::unordered_map<MatmulKey, MatmulPrim, MatmulKeyHash> cache;

MatmulPrim& get(const MatmulKey& key) {
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  int64_t bc = std::max(key.ba, key.bb);
  // A is stored [ba, m, k] or, transposed, [ba, k, m]; strides describe the logical [ba, m, k] view.
  memory::desc a({key.ba, key.m, key.k}, dt::f32,
                 key.ta ? memory::dims{key.m * key.k, 1, key.m} : memory::dims{key.m * key.k, key.k, 1});
  memory::desc b({key.bb, key.k, key.n}, dt::f32,
                 key.tb ? memory::dims{key.k * key.n, 1, key.k} : memory::dims{key.k * key.n, key.n, 1});
  memory::desc c({bc, key.m, key.n}, dt::f32, tag::abc);
  memory::desc bias({1, 1, key.n}, dt::f32, tag::abc);
  dnnl::primitive_attr attr;
  if (key.act == 1) {
    dnnl::post_ops po;
    po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  auto desc = key.bias ? dnnl::matmul::desc(a, b, bias, c) : dnnl::matmul::desc(a, b, c);
  dnnl::matmul::primitive_desc pd(desc, attr, cpuEngine());
  auto res = cache.emplace(key, MatmulPrim{a, b, c, bias, dnnl::matmul(pd)});
  return res.first->second;
}

// Products below this many multiply-adds run on the calling thread alone: waking the other core
// for them costs more than it saves (in the MLP step the 500×10 products took 0.08–0.15 ms on
// two threads and 0.04 ms on one).
constexpr int64_t kSingleThreadMacs = 1 << 20;

// Restores OpenMP's thread count when it goes out of scope.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : previous_(omp_get_max_threads()) {
    if (threads != previous_) omp_set_num_threads(threads);
  }
  ~ThreadCountScope() {
    if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
  }

 private:
  int previous_;
};

// matmul(a, b, out, batchA, batchB, m, n, k, transposeA, transposeB, bias|null, activation)
// activation: 0 none, 1 relu.
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  int64_t batch = std::max(i64(info[3]), i64(info[4]));
  int64_t macs = batch * i64(info[5]) * i64(info[6]) * i64(info[7]);
  ThreadCountScope threads(macs < kSingleThreadMacs ? 1 : omp_get_max_threads());
  MatmulKey key{i64(info[3]), i64(info[4]), i64(info[5]), i64(info[6]), i64(info[7]),
                flag(info[8]),  flag(info[9]),  info[10].IsTypedArray(), static_cast<int>(i64(info[11]))};
  MatmulPrim& p = get(key);
  auto& eng = cpuEngine();
  memory a(p.a, eng, floats(info[0]));
  memory b(p.b, eng, floats(info[1]));
  memory c(p.c, eng, floats(info[2]));
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
  if (key.bias) args.emplace(DNNL_ARG_BIAS, memory(p.bias, eng, floats(info[10])));
  p.prim.execute(cpuStream(), args);
  cpuStream().wait();
  return info.Env().Undefined();
}

}  // namespace

void registerMatmul(Napi::Env env, Napi::Object exports) {
  exportEntry<Matmul>(env, exports, "matmul");
}

}  // namespace mn
