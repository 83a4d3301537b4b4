// The dense training step's kernels for AVX-512 (F, VL, BW, DQ), chosen at run time where the CPU
// has them. Everything compiled for AVX-512 lives in this file's anonymous namespace, after every
// header: no inline function of a shared header is compiled here with AVX-512 (the linker could
// otherwise hand that copy to AVX2 code).
#include "dense_step.h"
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")

namespace mn {
namespace dense {
namespace {
// Named so that a disassembly can tell these functions (called only after the CPU check) from
// the rest of the addon, which must hold no AVX-512 instruction (scripts/avx512-check.mjs).
namespace avx512 {

struct Isa {
  using V = __m512;
  using M = __mmask16;
  static constexpr int W = 16;
  // Accumulator vectors per tile: a 128-wide tile's share of w1 (784 × 512 bytes) stays in L2 while
  // the batch streams through it (tiles of 256 were no faster).
  static constexpr int MaxNV = 8;
  static M mask(int width) { return width >= 16 ? M(0xFFFF) : M((1u << (width < 0 ? 0 : width)) - 1); }
  static V zero() { return _mm512_setzero_ps(); }
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V loadu(const float* p) { return _mm512_loadu_ps(p); }
  static V load(const float* p, M m) { return _mm512_maskz_loadu_ps(m, p); }
  static void storeu(float* p, V v) { _mm512_storeu_ps(p, v); }
  static void store(float* p, V v, M m) { _mm512_mask_storeu_ps(p, m, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V max(V a, V b) { return _mm512_max_ps(a, b); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V fnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  static V wherePositive(V y, V v) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ), v); }
  static float sum(V v) { return _mm512_reduce_add_ps(v); }
};

#include "dense_step_kernels.h"

// x's non-zero entries by row, 16 inputs at a time: compress the non-zero lanes and their indices.
void sparseRowsCompress(const Step& s) {
  int32_t nnz = 0;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int n = 0; n < s.n; ++n) {
    s.csrStart[n] = nnz;
    const float* row = s.x + int64_t(n) * s.k;
    for (int k = 0; k < s.k; k += 16) {
      const __mmask16 inside = Isa::mask(s.k - k);
      const __m512 v = _mm512_maskz_loadu_ps(inside, row + k);
      const __mmask16 nonzero = _mm512_mask_cmp_ps_mask(inside, v, _mm512_setzero_ps(), _CMP_NEQ_UQ);
      const int count = __builtin_popcount(nonzero);
      const __mmask16 first = Isa::mask(count);
      _mm512_mask_storeu_ps(s.csrVal + nnz, first, _mm512_maskz_compress_ps(nonzero, v));
      _mm512_mask_storeu_epi32(s.csrCol + nnz, first, _mm512_maskz_compress_epi32(nonzero, _mm512_add_epi32(lane, _mm512_set1_epi32(k))));
      nnz += count;
    }
  }
  s.csrStart[s.n] = nnz;
}

}  // namespace avx512
}  // namespace
}  // namespace dense
}  // namespace mn

#pragma GCC pop_options

namespace mn {
namespace dense {

// Compiled for the baseline ISA: callers on any CPU may run it (they call the kernels only with AVX-512).
Kernels avx512Kernels() { return {"avx512", avx512::sparseRowsCompress, avx512::forward, avx512::backward}; }

}  // namespace dense
}  // namespace mn
