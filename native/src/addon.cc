// Entry point of the native backend addon: engine, CPU checks, allocator tuning, version/threads info.
#include "common.h"
#include <malloc.h>

namespace mn {

dnnl::engine& cpuEngine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}
dnnl::stream& cpuStream() {
  static dnnl::stream strm(cpuEngine());
  return strm;
}

}  // namespace mn

namespace {

// The addon is compiled with -march=native at install time. If the binary is later run on a CPU
// that lacks an instruction set it was compiled for (a copied build folder), refuse to load
// instead of dying with SIGILL. Compiled for the baseline ISA so the check itself is safe.
__attribute__((target("arch=x86-64"))) const char* missingIsa() {
#if defined(__x86_64__)
  __builtin_cpu_init();
#if defined(__AVX512F__)
  if (!__builtin_cpu_supports("avx512f")) return "avx512f";
#endif
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) return "avx2";
#endif
#if defined(__FMA__)
  if (!__builtin_cpu_supports("fma")) return "fma";
#endif
#endif
  return nullptr;
}

const char* compiledIsa() {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__)
  return "avx2";
#elif defined(__AVX__)
  return "avx";
#else
  return "sse";
#endif
}

const char* dnnlIsaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto out = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl_version();
  out.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  out.Set("cpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other");
  out.Set("threads", omp_get_max_threads());
  out.Set("isa", dnnlIsaName(dnnl::get_effective_cpu_isa()));
  out.Set("compiledFor", compiledIsa());
  return out;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = static_cast<int>(mn::i64(info[0]));
  if (n >= 1) omp_set_num_threads(n);
  return Napi::Number::New(info.Env(), omp_get_max_threads());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Creates the engine and OpenMP's worker threads with asynchronous signals blocked, so the
  // workers never receive one (see AsyncSignalsBlocked in common.h).
  mn::AsyncSignalsBlocked blocked;
  if (const char* isa = missingIsa()) {
    throw Napi::Error::New(env, std::string("addon was built for a CPU with ") + isa +
                                    " but this CPU lacks it; rebuild with npm run build:native");
  }
  // Every large buffer a fresh mmap costs more than the arithmetic on it (see docs/native-backend.md):
  // keep freed memory in the heap so typed arrays and oneDNN scratch reuse warm pages.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc refuses anything above 32 MiB
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  (void)mn::cpuEngine();
#pragma omp parallel
  { (void)omp_get_thread_num(); }
  mn::exportEntry<Info>(env, exports, "info");
  mn::exportEntry<SetThreads>(env, exports, "setThreads");
  mn::registerMatmul(env, exports);
  mn::registerConv(env, exports);
  mn::registerPool(env, exports);
  mn::registerEltwise(env, exports);
  mn::registerReduce(env, exports);
  mn::registerOptimizer(env, exports);
  mn::registerDenseStep(env, exports);
  mn::registerCnnStep(env, exports);
  mn::registerBatchNorm(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(mnist_native, Init)
