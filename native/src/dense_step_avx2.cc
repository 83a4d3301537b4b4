// The dense training step's kernels for AVX2 + FMA (the addon's baseline ISA).
#include "dense_step.h"
#include <immintrin.h>

namespace mn {
namespace dense {
namespace {

struct Isa {
  using V = __m256;
  using M = __m256i;
  static constexpr int W = 8;
  // Accumulator vectors per tile: 8 of the 16 ymm registers, the rest for operands.
  static constexpr int MaxNV = 8;
  static M mask(int width) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(width), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static V zero() { return _mm256_setzero_ps(); }
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V loadu(const float* p) { return _mm256_loadu_ps(p); }
  static V load(const float* p, M m) { return _mm256_maskload_ps(p, m); }
  static void storeu(float* p, V v) { _mm256_storeu_ps(p, v); }
  static void store(float* p, V v, M m) { _mm256_maskstore_ps(p, m, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V max(V a, V b) { return _mm256_max_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  // v where y > 0, else 0 (ReLU's gradient).
  static V wherePositive(V y, V v) { return _mm256_and_ps(v, _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_GT_OQ)); }
  static float sum(V v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

#include "dense_step_kernels.h"

}  // namespace

Kernels avx2Kernels() { return {"avx2", sparseRowsScalar, forward, backward}; }

}  // namespace dense
}  // namespace mn
