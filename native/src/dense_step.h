// One SGD training step of a two-layer dense network (inputs → ReLU hidden → logits) in one call:
// the shared description of a step, built by dense_step.cc and run by the ISA-specific kernels in
// dense_step_avx2.cc / dense_step_avx512.cc (dense_step_kernels.h). Plain data only: this header is
// included by translation units compiled for different instruction sets.
#pragma once
#include <cstdint>

namespace mn {
namespace dense {

struct Step {
  // The batch: x is n×k (row-major), labels n.
  const float* x;
  const int32_t* labels;
  int n, k, h, c;
  // Variables, updated in place: w1 k×h, b1 h, w2 h×c, b2 c; their EMA shadows (all null without EMA).
  float* w[4];
  float* shadow[4];
  float lr;
  // L2 coefficient λ of each variable, folded into its gradient (g + λ·w).
  float decay[4];
  // 1 − EMA decay (ignored without shadows).
  float ema;
  int threads;

  // Workspace, sized by dense_step.cc.
  // x's non-zero entries by row (CSR: start n+1, column, value) and by column (CSC: start k+1, row, value).
  int32_t* csrStart;
  int32_t* csrCol;
  float* csrVal;
  int32_t* cscStart;
  int32_t* cscRow;
  float* cscVal;
  int32_t* cscFill;  // k counters used while building the CSC form
  float* hidden;     // n×h, after ReLU
  float* dhidden;    // n×h, gradient before the ReLU
  float* w2t;        // c×h, w2 transposed (read before w2 is updated)
  float* g2t;        // c×h, w2's gradient transposed
  float* db1;        // h
  float* b2copy;     // c, b2 as the forward pass read it
  float* partial;    // threads × n × c: each thread's share of the logits
  float* dlogits;    // threads × n × c: each thread's copy of (softmax − one-hot)/n
  // Results per thread: [threads] cross-entropy sum (thread 0 only), [threads × 4] Σw²/2 per variable.
  double* loss;
  double* halfSquares;
};

// Column range [h0, h1) of the hidden layer owned by thread t (multiples of 16 where possible).
inline void hiddenColumns(const Step& s, int t, int& h0, int& h1) {
  auto edge = [&](int i) {
    if (i >= s.threads) return s.h;
    int64_t at = int64_t(s.h) * i / s.threads;
    at = (at + 15) / 16 * 16;
    return at > s.h ? s.h : int(at);
  };
  h0 = edge(t);
  h1 = edge(t + 1);
}

struct Kernels {
  const char* isa;
  // Builds the CSR form of x (one thread, before the parallel part).
  void (*sparseRows)(const Step&);
  // Thread t: its hidden columns and its share of the logits; the last thread also builds the CSC form.
  void (*forward)(const Step&, int t);
  // Thread t, after a barrier: loss gradient, its hidden columns' gradients and updates (thread 0: b2).
  void (*backward)(const Step&, int t);
};

Kernels avx2Kernels();
Kernels avx512Kernels();

}  // namespace dense
}  // namespace mn
