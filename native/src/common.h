// Shared helpers for the mnist-ts native backend: typed-array access and coarse two-level threading.
#pragma once
#include <napi.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.hpp>
#include <pthread.h>
#include <csignal>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace mn {

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

inline float* floats(const Napi::Value& v) {
  auto arr = v.As<Napi::TypedArray>();
  return reinterpret_cast<float*>(static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset());
}
inline float* floatsOrNull(const Napi::Value& v) {
  return v.IsTypedArray() ? floats(v) : nullptr;
}
inline int64_t i64(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }
inline double f64(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }
inline bool flag(const Napi::Value& v) { return v.ToBoolean().Value(); }

// Splits [0, n) into one contiguous chunk per thread (a single barrier) once the work is large
// enough to pay for the wake-up; small work stays on the calling thread.
template <typename F>
inline void parallelRange(int64_t n, int64_t grain, F&& body) {
  int threads = omp_get_max_threads();
  if (threads <= 1 || n < grain * 2) {
    body(int64_t(0), n);
    return;
  }
#pragma omp parallel
  {
    int nt = omp_get_num_threads();
    int t = omp_get_thread_num();
    int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) body(begin, end);
  }
}

// parallelRange for a body that returns a partial sum: the total of the partials.
template <typename F>
inline double parallelSum(int64_t n, int64_t grain, F&& body) {
  int threads = omp_get_max_threads();
  if (threads <= 1 || n < grain * 2) return body(int64_t(0), n);
  std::vector<double> partial(threads, 0.0);
#pragma omp parallel num_threads(threads)
  {
    int nt = omp_get_num_threads();
    int t = omp_get_thread_num();
    int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) partial[t] = body(begin, end);
  }
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

// Σx²/2 (TensorFlow's L2Loss): eight float accumulators (vectorisable), folded into double every
// 4096 elements to keep the float rounding error of a long sum small.
inline double halfSumSquares(const float* x, int64_t n) {
  double total = 0;
  for (int64_t start = 0; start < n; start += 4096) {
    int64_t end = std::min(n, start + 4096);
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = start;
    for (; i + 8 <= end; i += 8)
      for (int j = 0; j < 8; ++j) acc[j] += x[i + j] * x[i + j];
    for (; i < end; ++i) acc[0] += x[i] * x[i];
    for (float a : acc) total += a;
  }
  return total / 2;
}

// oneDNN 2.6's generated f32 GEMM kernels point rsp into the heap while they run (oneDNN issue
// #4845, fixed upstream in 2026): a signal delivered to that thread then writes its frame over heap
// memory, and the process dies later in malloc. Ctrl-C, a profiler's SIGPROF or any signal with a
// handler is enough. So every entry point runs with asynchronous signals blocked on the calling
// thread; OpenMP's workers are created inside such calls and inherit the blocked mask for life.
// A signal that arrives meanwhile stays pending and is handled when the call returns.
class AsyncSignalsBlocked {
 public:
  AsyncSignalsBlocked() { pthread_sigmask(SIG_BLOCK, &set(), &previous_); }
  ~AsyncSignalsBlocked() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  AsyncSignalsBlocked(const AsyncSignalsBlocked&) = delete;
  AsyncSignalsBlocked& operator=(const AsyncSignalsBlocked&) = delete;

 private:
  static const sigset_t& set() {
    static const sigset_t blocked = [] {
      sigset_t s;
      sigfillset(&s);
      // Faults raised by the code itself must still be delivered.
      for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT}) sigdelset(&s, sig);
      return s;
    }();
    return blocked;
  }
  sigset_t previous_;
};

using Entry = Napi::Value (*)(const Napi::CallbackInfo&);
template <Entry F>
Napi::Value signalSafe(const Napi::CallbackInfo& info) {
  AsyncSignalsBlocked blocked;
  return F(info);
}
// Exports `F` as `name`, run with asynchronous signals blocked (see AsyncSignalsBlocked).
template <Entry F>
void exportEntry(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, signalSafe<F>, name));
}

void registerMatmul(Napi::Env env, Napi::Object exports);
void registerConv(Napi::Env env, Napi::Object exports);
void registerPool(Napi::Env env, Napi::Object exports);
void registerEltwise(Napi::Env env, Napi::Object exports);
void registerReduce(Napi::Env env, Napi::Object exports);
void registerOptimizer(Napi::Env env, Napi::Object exports);
void registerDenseStep(Napi::Env env, Napi::Object exports);
void registerCnnStep(Napi::Env env, Napi::Object exports);
void registerBatchNorm(Napi::Env env, Napi::Object exports);

}  // namespace mn
