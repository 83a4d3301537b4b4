// The kernels of the dense training step (see dense_step.h), written once over a vector type `Isa`
// that the including file defines (AVX2 or AVX-512). Included by exactly one translation unit per
// instruction set, inside an anonymous namespace: nothing here is shared between them, so no
// function compiled for AVX-512 can be picked by the linker for an AVX2 caller.
//
// Layer 1 skips the zero entries of x (MNIST images are ≈80 % zero pixels): the forward pass runs
// over each row's non-zero entries (CSR), and the weight gradient over each input's non-zero rows
// (CSC), accumulated in registers and applied at once with the L2 term and the moving average,
// one pass over w1 and its shadow. Adding 0·w changes no sum, so the result is the dense product's.

constexpr int W = Isa::W;

inline float hsum(typename Isa::V v) { return Isa::sum(v); }

// Calls body.template run<NV>(c0, width) for each tile of at most MaxNV vectors in [c0, c1).
template <typename Body>
inline void forTiles(int c0, int c1, Body&& body) {
  constexpr int tile = Isa::MaxNV * W;
  for (int at = c0; at < c1; at += tile) {
    int width = c1 - at < tile ? c1 - at : tile;
    int nv = (width + W - 1) / W;
    switch (nv) {
#define MN_TILE_CASE(N) \
  case N:               \
    if constexpr (N <= Isa::MaxNV) body.template run<N>(at, width); \
    break;
      MN_TILE_CASE(1) MN_TILE_CASE(2) MN_TILE_CASE(3) MN_TILE_CASE(4) MN_TILE_CASE(5) MN_TILE_CASE(6)
      MN_TILE_CASE(7) MN_TILE_CASE(8) MN_TILE_CASE(9) MN_TILE_CASE(10) MN_TILE_CASE(11) MN_TILE_CASE(12)
      MN_TILE_CASE(13) MN_TILE_CASE(14) MN_TILE_CASE(15) MN_TILE_CASE(16)
#undef MN_TILE_CASE
      default:
        break;
    }
  }
}

// hidden[:, tile] = relu(x · w1[:, tile] + b1[tile]) over x's non-zero entries.
struct ForwardTile {
  const Step& s;
  template <int NV>
  void run(int c0, int width) const {
    using V = typename Isa::V;
    const auto last = Isa::mask(width - (NV - 1) * W);
    const int64_t H = s.h;
    const float* __restrict w1 = s.w[0] + c0;
    const float* __restrict b1 = s.w[1] + c0;
    const int32_t* __restrict start = s.csrStart;
    const int32_t* __restrict cols = s.csrCol;
    const float* __restrict values = s.csrVal;
    for (int n = 0; n < s.n; ++n) {
      V acc[NV];
#pragma GCC unroll 16
      for (int j = 0; j < NV; ++j) acc[j] = Isa::zero();
      for (int e = start[n], end = start[n + 1]; e < end; ++e) {
        const float* row = w1 + cols[e] * H;
        const V x = Isa::set1(values[e]);
#pragma GCC unroll 16
        for (int j = 0; j < NV - 1; ++j) acc[j] = Isa::fma(x, Isa::loadu(row + j * W), acc[j]);
        acc[NV - 1] = Isa::fma(x, Isa::load(row + (NV - 1) * W, last), acc[NV - 1]);
      }
      float* out = s.hidden + n * H + c0;
      for (int j = 0; j < NV - 1; ++j) Isa::storeu(out + j * W, Isa::max(Isa::add(acc[j], Isa::loadu(b1 + j * W)), Isa::zero()));
      Isa::store(out + (NV - 1) * W, Isa::max(Isa::add(acc[NV - 1], Isa::load(b1 + (NV - 1) * W, last)), Isa::zero()), last);
    }
  }
};

// w1[:, tile] -= lr·(xᵀ·dhidden[:, tile] + λ·w1[:, tile]); shadow -= a·(shadow − w1). Adds Σw²/2 before.
struct UpdateW1Tile {
  const Step& s;
  double* halfSquares;
  template <int NV>
  void run(int c0, int width) const {
    if (s.shadow[0]) update<NV, true>(c0, width);
    else update<NV, false>(c0, width);
  }
  template <int NV, bool EMA>
  void update(int c0, int width) const {
    using V = typename Isa::V;
    const auto last = Isa::mask(width - (NV - 1) * W);
    const int64_t H = s.h;
    const V lr = Isa::set1(s.lr), decay = Isa::set1(s.decay[0]), a = Isa::set1(s.ema);
    const int32_t* __restrict start = s.cscStart;
    const int32_t* __restrict rows = s.cscRow;
    const float* __restrict values = s.cscVal;
    const float* __restrict dhidden = s.dhidden + c0;
    float* __restrict w1 = s.w[0] + c0;
    float* __restrict shadow = EMA ? s.shadow[0] + c0 : nullptr;
    double total = 0;
    for (int k = 0; k < s.k; ++k) {
      V acc[NV];
#pragma GCC unroll 16
      for (int j = 0; j < NV; ++j) acc[j] = Isa::zero();
      for (int e = start[k], end = start[k + 1]; e < end; ++e) {
        const float* row = dhidden + rows[e] * H;
        const V x = Isa::set1(values[e]);
#pragma GCC unroll 16
        for (int j = 0; j < NV - 1; ++j) acc[j] = Isa::fma(x, Isa::loadu(row + j * W), acc[j]);
        acc[NV - 1] = Isa::fma(x, Isa::load(row + (NV - 1) * W, last), acc[NV - 1]);
      }
      float* w = w1 + k * H;
      float* sh = EMA ? shadow + k * H : nullptr;
      V squares = Isa::zero();
#pragma GCC unroll 16
      for (int j = 0; j < NV - 1; ++j) {
        V wv = Isa::loadu(w + j * W);
        squares = Isa::fma(wv, wv, squares);
        wv = Isa::fnma(lr, Isa::fma(decay, wv, acc[j]), wv);
        Isa::storeu(w + j * W, wv);
        if (EMA) {
          V sv = Isa::loadu(sh + j * W);
          Isa::storeu(sh + j * W, Isa::fnma(a, Isa::sub(sv, wv), sv));
        }
      }
      {
        constexpr int j = NV - 1;
        V wv = Isa::load(w + j * W, last);
        squares = Isa::fma(wv, wv, squares);
        wv = Isa::fnma(lr, Isa::fma(decay, wv, acc[j]), wv);
        Isa::store(w + j * W, wv, last);
        if (EMA) {
          V sv = Isa::load(sh + j * W, last);
          Isa::store(sh + j * W, Isa::fnma(a, Isa::sub(sv, wv), sv), last);
        }
      }
      total += hsum(squares);
    }
    *halfSquares += total / 2;
  }
};

// x's non-zero entries by row. Branch-free: every entry is written, the count advances on non-zeros.
void sparseRowsScalar(const Step& s) {
  int32_t nnz = 0;
  for (int n = 0; n < s.n; ++n) {
    s.csrStart[n] = nnz;
    const float* row = s.x + int64_t(n) * s.k;
    for (int k = 0; k < s.k; ++k) {
      float v = row[k];
      s.csrCol[nnz] = k;
      s.csrVal[nnz] = v;
      nnz += v != 0.f;
    }
  }
  s.csrStart[s.n] = nnz;
}

// The CSR form transposed (counting sort by column; rows stay in order within a column).
void sparseColumns(const Step& s) {
  for (int k = 0; k <= s.k; ++k) s.cscStart[k] = 0;
  const int32_t nnz = s.csrStart[s.n];
  for (int e = 0; e < nnz; ++e) s.cscStart[s.csrCol[e] + 1]++;
  for (int k = 0; k < s.k; ++k) {
    s.cscStart[k + 1] += s.cscStart[k];
    s.cscFill[k] = s.cscStart[k];
  }
  for (int n = 0; n < s.n; ++n) {
    for (int e = s.csrStart[n], end = s.csrStart[n + 1]; e < end; ++e) {
      int32_t at = s.cscFill[s.csrCol[e]]++;
      s.cscRow[at] = n;
      s.cscVal[at] = s.csrVal[e];
    }
  }
}

// Σ over [h0, h1) of a[i]·b[i], vectorised with a masked tail.
inline typename Isa::V dotRange(const float* a, const float* b, int h0, int h1, typename Isa::V acc) {
  int i = h0;
  for (; i + W <= h1; i += W) acc = Isa::fma(Isa::loadu(a + i), Isa::loadu(b + i), acc);
  if (i < h1) {
    auto m = Isa::mask(h1 - i);
    acc = Isa::fma(Isa::load(a + i, m), Isa::load(b + i, m), acc);
  }
  return acc;
}

void forward(const Step& s, int t) {
  int h0, h1;
  hiddenColumns(s, t, h0, h1);
  const int64_t H = s.h, C = s.c;
  if (h0 < h1) {
    forTiles(h0, h1, ForwardTile{s});
    // w2 transposed, for the logits here and the hidden gradient after the barrier.
    for (int h = h0; h < h1; ++h)
      for (int c = 0; c < C; ++c) s.w2t[c * H + h] = s.w[2][h * C + c];
  }
  // This thread's share of the logits: hidden[:, h0:h1] · w2[h0:h1, :], four classes at a time.
  float* partial = s.partial + int64_t(t) * s.n * C;
  for (int n = 0; n < s.n; ++n) {
    const float* hid = s.hidden + n * H;
    int c = 0;
    for (; c + 4 <= C; c += 4) {
      typename Isa::V a0 = Isa::zero(), a1 = a0, a2 = a0, a3 = a0;
      int i = h0;
      for (; i + W <= h1; i += W) {
        auto hv = Isa::loadu(hid + i);
        a0 = Isa::fma(hv, Isa::loadu(s.w2t + c * H + i), a0);
        a1 = Isa::fma(hv, Isa::loadu(s.w2t + (c + 1) * H + i), a1);
        a2 = Isa::fma(hv, Isa::loadu(s.w2t + (c + 2) * H + i), a2);
        a3 = Isa::fma(hv, Isa::loadu(s.w2t + (c + 3) * H + i), a3);
      }
      if (i < h1) {
        auto m = Isa::mask(h1 - i);
        auto hv = Isa::load(hid + i, m);
        a0 = Isa::fma(hv, Isa::load(s.w2t + c * H + i, m), a0);
        a1 = Isa::fma(hv, Isa::load(s.w2t + (c + 1) * H + i, m), a1);
        a2 = Isa::fma(hv, Isa::load(s.w2t + (c + 2) * H + i, m), a2);
        a3 = Isa::fma(hv, Isa::load(s.w2t + (c + 3) * H + i, m), a3);
      }
      partial[n * C + c] = hsum(a0);
      partial[n * C + c + 1] = hsum(a1);
      partial[n * C + c + 2] = hsum(a2);
      partial[n * C + c + 3] = hsum(a3);
    }
    for (; c < C; ++c) partial[n * C + c] = hsum(dotRange(hid, s.w2t + c * H, h0, h1, Isa::zero()));
  }
  if (t == s.threads - 1) sparseColumns(s);
}

// The logits (the threads' shares plus b2, summed in the same order by every thread), the mean
// cross-entropy's gradient (softmax − one-hot)/n into this thread's copy; returns the summed loss.
double lossGradient(const Step& s, float* d) {
  const int C = s.c;
  double total = 0;
  const float invN = 1.f / float(s.n);
  for (int n = 0; n < s.n; ++n) {
    float* z = d + int64_t(n) * C;
    for (int c = 0; c < C; ++c) {
      float v = 0;
      for (int t = 0; t < s.threads; ++t) v += s.partial[(int64_t(t) * s.n + n) * C + c];
      z[c] = v + s.b2copy[c];
    }
    float max = z[0];
    for (int c = 1; c < C; ++c) max = z[c] > max ? z[c] : max;
    const int label = s.labels[n];
    const bool valid = label >= 0 && label < C;
    const float picked = valid ? z[label] : 0.f;
    double sum = 0;
    for (int c = 0; c < C; ++c) {
      float e = __builtin_expf(z[c] - max);
      z[c] = e;
      sum += e;
    }
    if (!valid) {
      total = __builtin_nan("");
      for (int c = 0; c < C; ++c) z[c] = __builtin_nanf("");
      continue;
    }
    total += __builtin_log(sum) + max - picked;
    const float scale = float(1.0 / (sum * s.n));
    for (int c = 0; c < C; ++c) z[c] *= scale;
    z[label] -= invN;
  }
  return total;
}

inline float updateScalar(float* w, float* shadow, float g, float lr, float decay, float a, double& halfSquares) {
  float wv = *w;
  halfSquares += double(wv) * wv / 2;
  wv -= lr * (g + decay * wv);
  *w = wv;
  if (shadow) *shadow -= a * (*shadow - wv);
  return wv;
}

void backward(const Step& s, int t) {
  int h0, h1;
  hiddenColumns(s, t, h0, h1);
  const int64_t H = s.h, C = s.c, N = s.n;
  float* d = s.dlogits + int64_t(t) * N * C;
  const double loss = lossGradient(s, d);
  if (t == 0) s.loss[0] = loss;
  double* half = s.halfSquares + 4 * t;
  for (int i = 0; i < 4; ++i) half[i] = 0;
  const float lr = s.lr, a = s.ema;
  const bool ema = s.shadow[0] != nullptr;

  if (h0 < h1) {
    // dhidden[:, h0:h1] = (d · w2ᵀ) where hidden > 0.
    for (int n = 0; n < N; ++n) {
      const float* dn = d + n * C;
      const float* hid = s.hidden + n * H;
      float* out = s.dhidden + n * H;
      for (int i = h0; i < h1; i += W) {
        const bool tail = i + W > h1;
        auto m = Isa::mask(h1 - i);
        auto acc = Isa::zero();
        for (int c = 0; c < C; ++c) {
          auto wv = tail ? Isa::load(s.w2t + c * H + i, m) : Isa::loadu(s.w2t + c * H + i);
          acc = Isa::fma(Isa::set1(dn[c]), wv, acc);
        }
        auto y = tail ? Isa::load(hid + i, m) : Isa::loadu(hid + i);
        acc = Isa::wherePositive(y, acc);
        if (tail) Isa::store(out + i, acc, m); else Isa::storeu(out + i, acc);
      }
    }
    // b1's gradient: Σ over the batch.
    for (int i = h0; i < h1; i += W) {
      const bool tail = i + W > h1;
      auto m = Isa::mask(h1 - i);
      auto acc = Isa::zero();
      for (int n = 0; n < N; ++n) acc = Isa::add(acc, tail ? Isa::load(s.dhidden + n * H + i, m) : Isa::loadu(s.dhidden + n * H + i));
      if (tail) Isa::store(s.db1 + i, acc, m); else Isa::storeu(s.db1 + i, acc);
    }
    // w2's gradient (transposed), rows h0:h1: g2t[c, h] = Σ_n d[n, c]·hidden[n, h].
    for (int c = 0; c < C; ++c) {
      for (int i = h0; i < h1; i += W) {
        const bool tail = i + W > h1;
        auto m = Isa::mask(h1 - i);
        auto acc0 = Isa::zero(), acc1 = Isa::zero();
        int n = 0;
        for (; n + 2 <= N; n += 2) {
          acc0 = Isa::fma(Isa::set1(d[n * C + c]), tail ? Isa::load(s.hidden + n * H + i, m) : Isa::loadu(s.hidden + n * H + i), acc0);
          acc1 = Isa::fma(Isa::set1(d[(n + 1) * C + c]), tail ? Isa::load(s.hidden + (n + 1) * H + i, m) : Isa::loadu(s.hidden + (n + 1) * H + i), acc1);
        }
        if (n < N) acc0 = Isa::fma(Isa::set1(d[n * C + c]), tail ? Isa::load(s.hidden + n * H + i, m) : Isa::loadu(s.hidden + n * H + i), acc0);
        acc0 = Isa::add(acc0, acc1);
        if (tail) Isa::store(s.g2t + c * H + i, acc0, m); else Isa::storeu(s.g2t + c * H + i, acc0);
      }
    }
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t c = 0; c < C; ++c)
        updateScalar(s.w[2] + h * C + c, ema ? s.shadow[2] + h * C + c : nullptr, s.g2t[c * H + h], lr, s.decay[2], a, half[2]);
    for (int64_t h = h0; h < h1; ++h)
      updateScalar(s.w[1] + h, ema ? s.shadow[1] + h : nullptr, s.db1[h], lr, s.decay[1], a, half[1]);
    forTiles(h0, h1, UpdateW1Tile{s, &half[0]});
  }
  if (t == 0) {
    for (int64_t c = 0; c < C; ++c) {
      float g = 0;
      for (int n = 0; n < N; ++n) g += d[n * C + c];
      updateScalar(s.w[3] + c, ema ? s.shadow[3] + c : nullptr, g, lr, s.decay[3], a, half[3]);
    }
  }
}
