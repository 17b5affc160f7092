// Compiled CPU kernels of sparsesnn (built on first use by sparsesnn.native; see build.py).
// Layout conventions: a sparse matrix W (n_rows x n_cols) is CSR with int32 crow/col and float
// values (a 0/1 pattern has no value array); dense matrices are row-major float32. No kernel
// forms dense W.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>
#include <omp.h>
#ifdef __linux__
#include <sys/mman.h>
#endif
#ifdef __AVX2__
#include <immintrin.h>
#endif

typedef int32_t idx_t;

namespace {

// Samples per tile: a tile row is one 64-byte line and a 4096-wide tile (256 KiB) stays in L2;
// 8, 32 and 64 measured slower on a 2-core AVX2 EPYC.
constexpr int NB = 16;
constexpr int JB = 16;  // outputs buffered before the transposed write-back

// Per-thread scratch (slot 0 or 1) of at least `count` T's, kept across calls on 2 MiB-aligned memory
// advised onto a transparent huge page. The tiles are read at random lines: one huge page covers
// what 64 4-KiB pages did, more than the first-level TLB holds (L3n terms measured 9-16 % faster),
// and keeping the block spares the next call its page faults (the cost: each OpenMP thread holds
// its largest tiles, at least 2 MiB a slot, for its lifetime). Contents are undefined.
template <typename T>
T* scratch(size_t count, int slot) {
    struct Block {
        void* p = nullptr;
        size_t bytes = 0;
        ~Block() { std::free(p); }
    };
    thread_local Block blocks[2];
    Block& b = blocks[slot];
    const size_t huge = size_t(2) << 20, want = (count * sizeof(T) + huge - 1) / huge * huge;
    if (b.bytes < want) {
        std::free(b.p);
        b.p = std::aligned_alloc(huge, want);
        if (b.p == nullptr) throw std::bad_alloc();
        b.bytes = want;
#ifdef __linux__
        madvise(b.p, want, MADV_HUGEPAGE);  // a hint: without THP this changes nothing
#endif
    }
    return static_cast<T*>(b.p);
}

// out[0:NB] = sum_p w_p * xt[col_p][0:NB] over row j of W; xt is an (n_cols x NB) tile. (Interleaving
// two rows for more FMA chains in flight measured slower: the tile is L2-bound. Two accumulators
// over alternate links were 7-9 % faster at 99 %, but reorder every product's sums, which moves
// trained networks' results; not taken here, see row_sum_tile. One 512-bit FMA per link instead of
// two 256-bit ones measured the same on an AVX-512 Zen 5: L2-bound there too.)
inline void row_tile(const idx_t* crow, const idx_t* col, const float* val, const float* xt, int j, float* out) {
    float acc[NB];
#pragma GCC unroll 64
    for (int k = 0; k < NB; ++k) acc[k] = 0.f;
    for (idx_t p = crow[j]; p < crow[j + 1]; ++p) {
        const float w = val[p];
        const float* x = xt + (int64_t)col[p] * NB;
#pragma GCC unroll 64
        for (int k = 0; k < NB; ++k) acc[k] += w * x[k];
    }
#pragma GCC unroll 64
    for (int k = 0; k < NB; ++k) out[k] = acc[k];
}

// out[0:NB] = sum_p xt[col_p][0:NB] over row j of a 0/1 pattern, alternate links in two add chains
// (the link scores' products: 10-14 % faster than one chain, and no trained weights depend on them)
inline void row_sum_tile(const idx_t* crow, const idx_t* col, const float* xt, int j, float* out) {
    idx_t p = crow[j];
    const idx_t end = crow[j + 1];
#ifdef __AVX2__
    // in explicit registers: inlined beside the count transposes, GCC's vectoriser once left these
    // sums scalar (4x slower)
    static_assert(NB == 16, "a tile row is two vectors");
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
    for (; p + 2 <= end; p += 2) {
        const float* x = xt + (int64_t)col[p] * NB;
        const float* y = xt + (int64_t)col[p + 1] * NB;
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x)), a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + 8));
        b0 = _mm256_add_ps(b0, _mm256_loadu_ps(y)), b1 = _mm256_add_ps(b1, _mm256_loadu_ps(y + 8));
    }
    if (p < end) {
        const float* x = xt + (int64_t)col[p] * NB;
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x)), a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + 8));
    }
    _mm256_storeu_ps(out, _mm256_add_ps(a0, b0));
    _mm256_storeu_ps(out + 8, _mm256_add_ps(a1, b1));
#else
    float a[NB], b[NB];
#pragma GCC unroll 64
    for (int k = 0; k < NB; ++k) a[k] = 0.f, b[k] = 0.f;
    for (; p + 2 <= end; p += 2) {
        const float* x = xt + (int64_t)col[p] * NB;
        const float* y = xt + (int64_t)col[p + 1] * NB;
#pragma GCC unroll 64
        for (int k = 0; k < NB; ++k) a[k] += x[k], b[k] += y[k];
    }
    if (p < end) {
        const float* x = xt + (int64_t)col[p] * NB;
#pragma GCC unroll 64
        for (int k = 0; k < NB; ++k) a[k] += x[k];
    }
#pragma GCC unroll 64
    for (int k = 0; k < NB; ++k) out[k] = a[k] + b[k];
#endif
}

#ifdef __AVX2__
// t[c][r] = src[r * lds + c] for an 8 x 8 block, in registers
inline void transpose8_regs(const float* src, int64_t lds, __m256* t) {
    __m256 r[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; ++i) {
        t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
        t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
    }
}

inline void store8(float* d, __m256 v, bool add) { _mm256_storeu_ps(d, add ? _mm256_add_ps(_mm256_loadu_ps(d), v) : v); }
#endif

// dst[c * ldd + r] (+)= src[r * lds + c] for an 8 x 8 block (AVX2 shuffles where available)
template <bool ADD>
inline void transpose8(const float* src, int64_t lds, float* dst, int64_t ldd) {
#ifdef __AVX2__
    __m256 t[8];
    transpose8_regs(src, lds, t);
    for (int i = 0; i < 8; ++i) store8(dst + i * ldd, t[i], ADD);
#else
    for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 8; ++c) dst[c * ldd + r] = (ADD ? dst[c * ldd + r] : 0.f) + src[r * lds + c];
#endif
}

// B[c, r] (+)= A[r, c] for an (rows x cols) block; 8 x 8 sub-blocks, scalar edges
template <bool ADD>
inline void transpose_block(const float* A, int64_t lda, int rows, int cols, float* B, int64_t ldb) {
    const int r8 = rows & ~7, c8 = cols & ~7;
    for (int r = 0; r < r8; r += 8)
        for (int c = 0; c < c8; c += 8) transpose8<ADD>(A + r * lda + c, lda, B + (int64_t)c * ldb + r, ldb);
    for (int r = 0; r < rows; ++r)
        for (int c = (r < r8 ? c8 : 0); c < cols; ++c) {
            float& d = B[(int64_t)c * ldb + r];
            d = (ADD ? d : 0.f) + A[r * lda + c];
        }
}

// xt[i][k] = X[n0 + k][i] for k < m, zero-padded to NB
inline void load_tile(const float* X, int64_t ldx, int64_t n0, int m, int n_cols, float* xt) {
    if (m < NB) std::memset(xt, 0, sizeof(float) * (size_t)n_cols * NB);
    transpose_block<false>(X + n0 * ldx, ldx, m, n_cols, xt, NB);
}

// Y[n0 + k, j0 + jj] (+)= out[jj][k] (or Y[j0 + jj, n0 + k] when y_t); out is JB x NB.
// A whole tile writes each sample's 16 outputs (one 64-byte line) back to back, not by 8 x 8
// blocks that write half lines at different times (a third of the 99.9 % product went there).
inline void store_tile(const float* out, int jn, int m, float* Y, int64_t ldy, bool y_t, bool accumulate, int64_t n0, int j0) {
#ifdef __AVX2__
    static_assert(NB == 16 && JB == 16, "a whole tile is two 8 x 8 transposes per half");
    if (!y_t && jn == JB && m == NB) {
        for (int kk = 0; kk < NB; kk += 8) {
            __m256 lo[8], hi[8];
            transpose8_regs(out + kk, NB, lo);
            transpose8_regs(out + 8 * NB + kk, NB, hi);
            for (int i = 0; i < 8; ++i) {
                float* y = Y + (n0 + kk + i) * ldy + j0;
                if (accumulate) {
                    store8(y, lo[i], true);
                    store8(y + 8, hi[i], true);
                } else {  // a branch: a select would load Y (from DRAM for the 64 MB L3n scores)
                    _mm256_storeu_ps(y, lo[i]);
                    _mm256_storeu_ps(y + 8, hi[i]);
                }
            }
        }
        return;
    }
#endif
    if (y_t) {
        for (int jj = 0; jj < jn; ++jj) {
            float* y = Y + (int64_t)(j0 + jj) * ldy + n0;
            if (accumulate)
                for (int k = 0; k < m; ++k) y[k] += out[jj * NB + k];
            else
                std::memcpy(y, out + jj * NB, sizeof(float) * m);
        }
    } else if (accumulate) {  // JB outputs of a sample at once: whole cache lines
        transpose_block<true>(out, NB, jn, m, Y + n0 * ldy + j0, ldy);
    } else {
        transpose_block<false>(out, NB, jn, m, Y + n0 * ldy + j0, ldy);
    }
}

// Spike words of a tile: bits[j] bit k = (X[n0 + k, j] != 0) for k < m. *updates gets the
// scatter's work for these spikes, sum_j popcount(bits[j]) x fan-out(j). Returns nonzero when
// some entry is neither 0 nor 1 (NaN included).
inline int pack_spikes(const float* X, int64_t ldx, int64_t n0, int m, int n_cols, const idx_t* t_crow, uint32_t* bits,
                       int64_t* updates) {
    int j = 0, bad = 0;
#ifdef __AVX512F__
    // sample by sample along X's rows (sequential lines; a column block's 32 rows lie ldx apart,
    // 16 KiB for 4096 inputs: all in one L1 set), OR-ing each compare mask into the L1-resident words
    const int n16 = n_cols / 16 * 16;
    std::memset(bits, 0, sizeof(uint32_t) * (size_t)n16);
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.f);
    __mmask16 notbin = 0;
    for (int k = 0; k < m; ++k) {
        const float* x = X + (n0 + k) * ldx;
        const __m512i bit = _mm512_set1_epi32((int)(1u << k));
        for (int c = 0; c < n16; c += 16) {
            const __m512 v = _mm512_loadu_ps(x + c);
            const __mmask16 nz = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_UQ);
            notbin |= _mm512_mask_cmp_ps_mask(nz, v, one, _CMP_NEQ_UQ);
            const __m512i w = _mm512_loadu_si512(bits + c);
            _mm512_storeu_si512(bits + c, _mm512_mask_or_epi32(w, nz, w, bit));
        }
    }
    j = n16, bad = notbin != 0;
#elif defined(__AVX2__)
    const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.f);
    __m256 notbin = zero;
    for (; j + 8 <= n_cols; j += 8) {
        __m256i w = _mm256_setzero_si256();
        for (int k = 0; k < m; ++k) {
            const __m256 v = _mm256_loadu_ps(X + (n0 + k) * ldx + j);
            const __m256 nz = _mm256_cmp_ps(v, zero, _CMP_NEQ_UQ);
            notbin = _mm256_or_ps(notbin, _mm256_and_ps(nz, _mm256_cmp_ps(v, one, _CMP_NEQ_UQ)));
            w = _mm256_or_si256(w, _mm256_and_si256(_mm256_castps_si256(nz), _mm256_set1_epi32((int)(1u << k))));
        }
        _mm256_storeu_si256((__m256i*)(bits + j), w);
    }
    bad = _mm256_movemask_ps(notbin);
#endif
    for (; j < n_cols; ++j) {
        uint32_t w = 0;
        for (int k = 0; k < m; ++k) {
            const float v = X[(n0 + k) * ldx + j];
            w |= (uint32_t)(v != 0.f) << k;
            bad |= (v != 0.f) & (v != 1.f);
        }
        bits[j] = w;
    }
    int64_t u = 0;
    for (j = 0; j < n_cols; ++j) u += (int64_t)__builtin_popcount(bits[j]) * (t_crow[j + 1] - t_crow[j]);
    *updates = u;
    return bad;
}

// Samples per tile of the event kernel's spike tiles: one 32-bit word per input holds them all, so
// each link's index, word and value loads serve four 8-lane vectors (16-sample tiles: two; the
// whole kernel measured 8-11 % slower at 10 % spikes)
constexpr int EB = 2 * NB;

// lo[0:NB] (hi[0:NB]) = sum over the links p of row j of W of val[p] * (bit k (NB + k) of
// bits[col[p]]): the two halves of an EB-sample word. AVX2: a per-lane shift puts sample k's bit in
// the sign, which selects the value (two links at a time for two add chains; a shift to a full
// lane mask and an AND instead of the select measured the same). 16-bit words measured ~20 %
// slower, a byte-indexed table of 0/1 floats or lane masks ~20 % slower too. AVX-512: the word's
// halves are the write masks of two 16-lane adds, 1.8x faster than the AVX2 selects on Zen 5.
inline void row_spikes(const idx_t* crow, const idx_t* col, const float* val, const uint32_t* bits, int j, float* lo, float* hi) {
    idx_t p = crow[j];
    const idx_t end = crow[j + 1];
#ifdef __AVX512F__
    // the same two chains as the AVX2 code below, so the same sums
    static_assert(EB == 32 && NB == 16, "a word's samples are two 16-lane vectors");
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
    for (; p + 2 <= end; p += 2) {
        const uint32_t m = bits[col[p]], n = bits[col[p + 1]];
        const __m512 w = _mm512_set1_ps(val[p]), v = _mm512_set1_ps(val[p + 1]);
        a0 = _mm512_mask_add_ps(a0, (__mmask16)m, a0, w), a1 = _mm512_mask_add_ps(a1, (__mmask16)(m >> 16), a1, w);
        b0 = _mm512_mask_add_ps(b0, (__mmask16)n, b0, v), b1 = _mm512_mask_add_ps(b1, (__mmask16)(n >> 16), b1, v);
    }
    if (p < end) {
        const uint32_t m = bits[col[p]];
        const __m512 w = _mm512_set1_ps(val[p]);
        a0 = _mm512_mask_add_ps(a0, (__mmask16)m, a0, w), a1 = _mm512_mask_add_ps(a1, (__mmask16)(m >> 16), a1, w);
    }
    _mm512_storeu_ps(lo, _mm512_add_ps(a0, b0));
    _mm512_storeu_ps(hi, _mm512_add_ps(a1, b1));
#elif defined(__AVX2__)
    static_assert(EB == 32 && NB == 16, "a word's samples are four 8-lane vectors");
    const __m256i s0 = _mm256_setr_epi32(31, 30, 29, 28, 27, 26, 25, 24);
    const __m256i s1 = _mm256_setr_epi32(23, 22, 21, 20, 19, 18, 17, 16);
    const __m256i s2 = _mm256_setr_epi32(15, 14, 13, 12, 11, 10, 9, 8);
    const __m256i s3 = _mm256_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0);
    const __m256 zero = _mm256_setzero_ps();
    __m256 a[4] = {zero, zero, zero, zero}, b[4] = {zero, zero, zero, zero};
    auto add = [&](__m256* acc, idx_t q) {
        const __m256i m = _mm256_set1_epi32((int)bits[col[q]]);
        const __m256 w = _mm256_set1_ps(val[q]);
        acc[0] = _mm256_add_ps(acc[0], _mm256_blendv_ps(zero, w, _mm256_castsi256_ps(_mm256_sllv_epi32(m, s0))));
        acc[1] = _mm256_add_ps(acc[1], _mm256_blendv_ps(zero, w, _mm256_castsi256_ps(_mm256_sllv_epi32(m, s1))));
        acc[2] = _mm256_add_ps(acc[2], _mm256_blendv_ps(zero, w, _mm256_castsi256_ps(_mm256_sllv_epi32(m, s2))));
        acc[3] = _mm256_add_ps(acc[3], _mm256_blendv_ps(zero, w, _mm256_castsi256_ps(_mm256_sllv_epi32(m, s3))));
    };
    for (; p + 2 <= end; p += 2) {
        add(a, p);
        add(b, p + 1);
    }
    if (p < end) add(a, p);
    float* out[4] = {lo, lo + 8, hi, hi + 8};
    for (int v = 0; v < 4; ++v) _mm256_storeu_ps(out[v], _mm256_add_ps(a[v], b[v]));
#else
    float acc[EB] = {};
    for (; p < end; ++p) {
        const uint32_t b = bits[col[p]];
        for (int k = 0; k < EB; ++k) acc[k] += (b >> k & 1u) ? val[p] : 0.f;
    }
    for (int k = 0; k < NB; ++k) lo[k] = acc[k], hi[k] = acc[NB + k];
#endif
}

// Indices of the non-zero entries of x[0:n] into active (sorted); returns how many. AVX2: eight
// entries per compare, a bit scan per spike.
inline int active_inputs(const float* x, int n, idx_t* active) {
    int na = 0, i = 0;
#ifdef __AVX2__
    const __m256 zero = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        const unsigned nz = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), zero, _CMP_NEQ_UQ));
        for (unsigned bits = nz; bits; bits &= bits - 1) active[na++] = i + __builtin_ctz(bits);
    }
#endif
    for (; i < n; ++i) {  // branch-free compaction
        active[na] = i;
        na += x[i] != 0.f;
    }
    return na;
}

// y[0:n_out] = x @ W^T for one binary sample x by scatter: every active input adds its out-links
// (Wᵀ in CSR). The sums build in acc (n_out floats, stays in L1) and are copied to y once.
inline void scatter_row(const idx_t* t_crow, const idx_t* t_row, const float* t_val, const float* x, int n_in, int n_out,
                        idx_t* active, float* acc, float* y) {
    constexpr int PF = 4;
    const int na = active_inputs(x, n_in, active);
    std::memset(acc, 0, sizeof(float) * n_out);
    for (int a = 0; a < na; ++a) {
        if (a + PF < na) {  // the link lists of later spikes are far apart: fetch them early
            const idx_t q = t_crow[active[a + PF]];
            __builtin_prefetch(t_row + q);
            __builtin_prefetch(t_row + q + 16);
            __builtin_prefetch(t_val + q);
            __builtin_prefetch(t_val + q + 16);
        }
        const int i = active[a];
        idx_t p = t_crow[i];
        const idx_t end = t_crow[i + 1];
        // four links' indices and values are loaded before their four updates: acc and t_val may
        // alias as far as the compiler knows, so a plain loop orders every load after the previous
        // store (A/B: 5-8 % slower)
        for (; p + 4 <= end; p += 4) {
            const idx_t r0 = t_row[p], r1 = t_row[p + 1], r2 = t_row[p + 2], r3 = t_row[p + 3];
            const float v0 = t_val[p], v1 = t_val[p + 1], v2 = t_val[p + 2], v3 = t_val[p + 3];
            acc[r0] += v0;
            acc[r1] += v1;
            acc[r2] += v2;
            acc[r3] += v3;
        }
        for (; p < end; ++p) acc[t_row[p]] += t_val[p];
    }
    std::memcpy(y, acc, sizeof(float) * n_out);
}

// Both sides of an L3n term (see l3n_term)
struct L3nSides {
    const idx_t *c_crow, *c_col, *ct_crow, *ct_row;
    const float* k;
    int n_count, ch2;
    const idx_t *w_crow, *w_col;
    int n_rows;
};

// Row stride of the q-major counts (see l3n_tiles): one cache line past a multiple of 64 entries,
// so that the NB rows at one z lie in different L1 sets (at a 4 KiB stride they share one)
inline int64_t count_ld(int n_count) { return (int64_t)(n_count + 63) / 64 * 64 + 64; }

#ifdef __AVX2__
// x[0:16] = f(h, kz) for the 16 counts h of one node (two vectors of eight)
inline void l3n_f16(const __m256i* h, int kz, int ch2, float* x) {
    const __m256i one_i = _mm256_set1_epi32(1), zero_i = _mm256_setzero_si256(), kv = _mm256_set1_epi32(kz);
    const __m256 one = _mm256_set1_ps(1.f);
    for (int i = 0; i < 2; ++i) {
        const __m256i d = _mm256_max_epi32(_mm256_sub_epi32(kv, h[i]), one_i);
        __m256 v = _mm256_div_ps(one, _mm256_cvtepi32_ps(d));
        if (ch2) v = _mm256_mul_ps(_mm256_add_ps(one, _mm256_cvtepi32_ps(h[i])), v);
        v = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_cmpgt_epi32(h[i], zero_i)));
        _mm256_storeu_ps(x + 8 * i, v);
    }
}

// r[i] = column i of the 16 x 16 bytes r (one byte of each row), by interleaving stages
inline void transpose16_bytes(__m128i* r) {
    __m128i t[16];
    for (int i = 0; i < 8; ++i)
        t[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]), t[i + 8] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
    for (int h = 0; h < 2; ++h)
        for (int i = 0; i < 4; ++i) {
            const __m128i a = t[8 * h + 2 * i], b = t[8 * h + 2 * i + 1];
            r[8 * h + i] = _mm_unpacklo_epi16(a, b), r[8 * h + i + 4] = _mm_unpackhi_epi16(a, b);
        }
    for (int h = 0; h < 4; ++h)
        for (int i = 0; i < 2; ++i) {
            const __m128i a = r[4 * h + 2 * i], b = r[4 * h + 2 * i + 1];
            t[4 * h + i] = _mm_unpacklo_epi32(a, b), t[4 * h + i + 2] = _mm_unpackhi_epi32(a, b);
        }
    for (int h = 0; h < 4; ++h)
        for (int i = 0; i < 2; ++i) {
            const __m128i a = t[4 * h + 2 * i], b = t[4 * h + 2 * i + 1];
            r[4 * h + 2 * i] = _mm_unpacklo_epi64(a, b), r[4 * h + 2 * i + 1] = _mm_unpackhi_epi64(a, b);
        }
}
#endif

// xt[z][q] = f(c[q][z], k[z]) for every z (f of l3n_term), and c zeroed for the next tile; c is
// q-major with row stride count_ld. Bit-identical to num * (1 / max(1, k - c)) in scalar float:
// IEEE division and products are correctly rounded in both.
template <typename C>
inline void l3n_values(C* c, const float* k, int n_count, int ch2, float* xt) {
    const int64_t ld = count_ld(n_count);
    int z = 0;
#ifdef __AVX2__
    static_assert(NB == 16, "a tile's counts are 16 rows");
    if constexpr (sizeof(C) == 1) {
        for (; z + 16 <= n_count; z += 16) {
            __m128i r[16];
            for (int q = 0; q < NB; ++q) {
                __m128i* cq = (__m128i*)(c + q * ld + z);
                r[q] = _mm_loadu_si128(cq);
                _mm_storeu_si128(cq, _mm_setzero_si128());
            }
            transpose16_bytes(r);
            for (int i = 0; i < 16; ++i) {
                const __m256i h[2] = {_mm256_cvtepu8_epi32(r[i]), _mm256_cvtepu8_epi32(_mm_srli_si128(r[i], 8))};
                l3n_f16(h, (int)k[z + i], ch2, xt + (int64_t)(z + i) * NB);
            }
        }
    } else {
        for (; z + 8 <= n_count; z += 8) {
            __m256 lo[8], hi[8];  // 32-bit counts of q < 8 and q >= 8, transposed as float bits
            transpose8_regs((const float*)(c + z), ld, lo);
            transpose8_regs((const float*)(c + 8 * ld + z), ld, hi);
            for (int q = 0; q < NB; ++q) _mm256_storeu_si256((__m256i*)(c + q * ld + z), _mm256_setzero_si256());
            for (int i = 0; i < 8; ++i) {
                const __m256i h[2] = {_mm256_castps_si256(lo[i]), _mm256_castps_si256(hi[i])};
                l3n_f16(h, (int)k[z + i], ch2, xt + (int64_t)(z + i) * NB);
            }
        }
    }
#endif
    for (; z < n_count; ++z)
        for (int q = 0; q < NB; ++q) {
            C& cq = c[q * ld + z];
            const float r = 1.f / (float)std::max(1, (int)k[z] - (int)cq);
            xt[(int64_t)z * NB + q] = cq ? (ch2 ? 1.f + (float)cq : 1.f) * r : 0.f;
            cq = 0;
        }
}

template <typename C>
void l3n_tiles(const L3nSides& g, float* Y, int64_t ldy, int y_t, int accumulate, int nthreads) {
    const int64_t tiles = (g.n_count + NB - 1) / NB, ld = count_ld(g.n_count);
    const idx_t nnz = g.c_crow[g.n_count];
#pragma omp parallel num_threads(nthreads)
    {
        float* xt = scratch<float>((size_t)g.n_count * NB, 0);
        C* cnt = scratch<C>((size_t)ld * NB, 1);
        std::memset(cnt, 0, sizeof(C) * ld * NB);  // l3n_values zeroes it again after each tile
        float out[JB][NB];
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < tiles; ++t) {
            const int s0 = (int)(t * NB);
            const int m = std::min(NB, g.n_count - s0);
            // node by node, so that the counts being built are one row in L1; the neighbour list
            // four links ahead is prefetched (counting measured ~25 % faster): the lists are read
            // at random and each short loop's exit stalls the next one's first load
            for (int q = 0; q < m; ++q) {
                C* row = cnt + q * ld;
                for (idx_t p = g.c_crow[s0 + q]; p < g.c_crow[s0 + q + 1]; ++p) {
                    if (p + 4 < nnz) __builtin_prefetch(g.ct_row + g.ct_crow[g.c_col[p + 4]]);
                    const int a = g.c_col[p];
                    for (idx_t r = g.ct_crow[a]; r < g.ct_crow[a + 1]; ++r) row[g.ct_row[r]] += 1;
                }
            }
            l3n_values(cnt, g.k, g.n_count, g.ch2, xt);
            for (int j0 = 0; j0 < g.n_rows; j0 += JB) {
                const int jn = std::min(JB, g.n_rows - j0);
                for (int jj = 0; jj < jn; ++jj) row_sum_tile(g.w_crow, g.w_col, xt, j0 + jj, out[jj]);
                store_tile(&out[0][0], jn, m, Y, ldy, y_t, accumulate, s0, j0);
            }
        }
    }
}

// f(j) for every nonzero byte j of a mask row, in order. Masks are sparse: AVX2 tests 32 bytes at
// once and visits the set ones by bit scans, otherwise eight bytes are tested at once.
#ifdef __AVX2__
// bit i set iff r[i] != 0, for 32 bytes
inline uint32_t set_bytes32(const uint8_t* r) {
    const __m256i v = _mm256_loadu_si256((const __m256i*)r);
    return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_setzero_si256()));
}
#endif

template <typename F>
inline void for_set_bytes(const uint8_t* r, int64_t n, F f) {
    int64_t j = 0;
#ifdef __AVX2__
    for (; j + 32 <= n; j += 32)
        for (uint32_t set = set_bytes32(r + j); set; set &= set - 1) f(j + __builtin_ctz(set));
#endif
    for (; j + 8 <= n; j += 8) {
        uint64_t w;
        std::memcpy(&w, r + j, 8);
        if (w == 0) continue;
        for (int b = 0; b < 8; ++b)
            if (r[j + b]) f(j + b);
    }
    for (; j < n; ++j)
        if (r[j]) f(j);
}

// Number of nonzero bytes of a mask row
inline int64_t count_set_bytes(const uint8_t* r, int64_t n) {
    int64_t c = 0, j = 0;
#ifdef __AVX2__
    for (; j + 32 <= n; j += 32) c += __builtin_popcount(set_bytes32(r + j));
#endif
    for (; j < n; ++j) c += r[j] != 0;
    return c;
}

}  // namespace

extern "C" {

// Y = X @ W^T with X [N, n_cols] and Y [N, n_rows] row-major. Parallel over tiles of NB
// samples: each tile of X is gathered into an L2-sized (n_cols x NB) block, every row of W then
// costs nnz_row vector FMAs.
void spmm(const idx_t* crow, const idx_t* col, const float* val, int n_rows, int n_cols, const float* X, int64_t ldx,
          int64_t N, float* Y, int64_t ldy, int nthreads) {
    const int64_t tiles = (N + NB - 1) / NB;
#pragma omp parallel num_threads(nthreads)
    {
        float* xt = scratch<float>((size_t)n_cols * NB, 0);
        float out[JB][NB];
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < tiles; ++t) {
            const int64_t n0 = t * NB;
            const int m = (int)std::min<int64_t>(NB, N - n0);
            load_tile(X, ldx, n0, m, n_cols, xt);
            for (int j0 = 0; j0 < n_rows; j0 += JB) {
                const int jn = std::min(JB, n_rows - j0);
                for (int jj = 0; jj < jn; ++jj) row_tile(crow, col, val, xt, j0 + jj, out[jj]);
                store_tile(&out[0][0], jn, m, Y, ldy, false, false, n0, j0);
            }
        }
    }
}

// gv[p] = sum_n G[n, row_p] * X[n, col_p] for every link p (sampled dense-dense product). Each
// thread takes tiles of NB samples (both operands transposed into L2-sized tiles) and sums into its
// own buffer; the buffers are added at the end. (One dot product over all N per link, on fully
// transposed operands, measured 2-8x slower: the random rows then come from L3.)
void sddmm(const idx_t* crow, const idx_t* col, int n_rows, int n_cols, const float* G, int64_t ldg,
           const float* X, int64_t ldx, int64_t N, float* gv, int nthreads) {
    const int64_t nnz = crow[n_rows];
    const int64_t tiles = (N + NB - 1) / NB;
    nthreads = (int)std::max<int64_t>(1, std::min<int64_t>(nthreads, tiles));
    std::vector<float> partial((size_t)(nthreads - 1) * nnz);
#pragma omp parallel num_threads(nthreads)
    {
        const int tid = omp_get_thread_num();
        float* acc = tid == 0 ? gv : partial.data() + (size_t)(tid - 1) * nnz;
        std::fill(acc, acc + nnz, 0.f);
        float* xt = scratch<float>((size_t)n_cols * NB, 0);
        float* gt = scratch<float>((size_t)n_rows * NB, 1);
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tiles; ++t) {
            const int64_t n0 = t * NB;
            const int m = (int)std::min<int64_t>(NB, N - n0);
            load_tile(X, ldx, n0, m, n_cols, xt);
            load_tile(G, ldg, n0, m, n_rows, gt);
            for (int j = 0; j < n_rows; ++j) {
                const float* g = gt + (int64_t)j * NB;
                idx_t p = crow[j];
#if defined(__AVX2__) && defined(__FMA__)
                static_assert(NB == 16, "the AVX2 path holds a tile row in two registers");
                const __m256 g0 = _mm256_loadu_ps(g), g1 = _mm256_loadu_ps(g + 8);
                // eight links at a time: their sixteen-term dots end as eight vectors, summed
                // horizontally together by a hadd tree (one RMW of acc instead of eight)
                for (; p + 8 <= crow[j + 1]; p += 8) {
                    __m256 d[8];
                    for (int e = 0; e < 8; ++e) {
                        const float* x = xt + (int64_t)col[p + e] * NB;
                        d[e] = _mm256_fmadd_ps(g1, _mm256_loadu_ps(x + 8), _mm256_mul_ps(g0, _mm256_loadu_ps(x)));
                    }
                    const __m256 h01 = _mm256_hadd_ps(d[0], d[1]), h23 = _mm256_hadd_ps(d[2], d[3]);
                    const __m256 h45 = _mm256_hadd_ps(d[4], d[5]), h67 = _mm256_hadd_ps(d[6], d[7]);
                    const __m256 q0 = _mm256_hadd_ps(h01, h23), q1 = _mm256_hadd_ps(h45, h67);
                    // q0 lanes: [0..3 low halves | 0..3 high halves]; q1 likewise for links 4..7
                    const __m256 lo = _mm256_permute2f128_ps(q0, q1, 0x20), hi = _mm256_permute2f128_ps(q0, q1, 0x31);
                    _mm256_storeu_ps(acc + p, _mm256_add_ps(_mm256_loadu_ps(acc + p), _mm256_add_ps(lo, hi)));
                }
#endif
                for (; p < crow[j + 1]; ++p) {
                    const float* x = xt + (int64_t)col[p] * NB;
                    float s = 0.f;
#pragma omp simd reduction(+ : s)
                    for (int k = 0; k < NB; ++k) s += g[k] * x[k];
                    acc[p] += s;
                }
            }
        }
    }
    for (int t = 1; t < nthreads; ++t) {
        const float* src = partial.data() + (size_t)(t - 1) * nnz;
        for (int64_t p = 0; p < nnz; ++p) gv[p] += src[p];
    }
}

// Event-driven Y[N, n_out] = X @ W^T for binary X, per tile of EB samples by whichever of two
// methods does less work for that tile's spikes:
// - scatter: every active input adds its out-links (Wᵀ in CSR: t_crow, t_row; its values are
//   val[t_perm]), cost ~ active inputs x fan-out. A sample's sums build in a per-thread row that
//   stays in L1 (the link lists streaming past would evict Y's line) and are copied out once.
// - spike tiles: the tile's spikes are packed into one bit word per input (bit k: sample k) and
//   every row of W (crow, col, val) selects its links' values lane by lane, cost ~ nnz per EB
//   samples. It does the same work as spmm on 32x less tile data (an L1-sized 16 KiB word array
//   instead of an L2-sized float tile), and no multiply.
// All tiles are packed first; packing counts the scatter's updates exactly (spikes x fan-out), and
// a tile scatters when they are fewer than scatter_per_link x nnz (the caller's measured ratio of
// the two methods' costs per link and EB-sample tile and per update; 0 always takes the tiles,
// infinity always scatters). Wᵀ's values are gathered only when some tile scatters (skipping the gather when none
// does: 1-4 % in A/B). With a non-null nonbinary flag the packing also checks that every entry is
// 0 or 1; on the first other value the flag is set, the remaining tiles are skipped and Y is not
// written (the caller takes the general product) - one read of X instead of a separate check.
void event_xwt(const idx_t* crow, const idx_t* col, const float* val, const idx_t* t_crow, const idx_t* t_row,
               const int64_t* t_perm, int n_in, int n_out, const float* X, int64_t ldx, int64_t N, float* Y, int64_t ldy,
               double scatter_per_link, int* nonbinary, int nthreads) {
    if (nonbinary) *nonbinary = 0;
    const int64_t tiles = (N + EB - 1) / EB, nnz = crow[n_out];
    const double scatter_below = scatter_per_link * (double)nnz;
    std::vector<uint32_t> bits((size_t)tiles * n_in);
    std::vector<uint8_t> scatter(tiles);
    int any_scatter = 0;
#pragma omp parallel for num_threads(nthreads) schedule(static) reduction(| : any_scatter)
    for (int64_t t = 0; t < tiles; ++t) {
        if (nonbinary && __atomic_load_n(nonbinary, __ATOMIC_RELAXED)) continue;
        const int64_t n0 = t * EB;
        int64_t updates = 0;
        const int bad = pack_spikes(X, ldx, n0, (int)std::min<int64_t>(EB, N - n0), n_in, t_crow, bits.data() + t * n_in, &updates);
        if (nonbinary && bad) __atomic_store_n(nonbinary, 1, __ATOMIC_RELAXED);
        scatter[t] = (double)updates < scatter_below;
        any_scatter |= scatter[t];
    }
    if (nonbinary && *nonbinary) return;
    std::vector<float> t_val(any_scatter ? nnz : 0);
#pragma omp parallel for num_threads(nthreads) schedule(static) if (any_scatter)
    for (int64_t q = 0; q < (int64_t)t_val.size(); ++q) t_val[q] = val[t_perm[q]];
#pragma omp parallel num_threads(nthreads)
    {
        std::vector<idx_t> active(any_scatter ? n_in : 0);
        std::vector<float> acc(any_scatter ? n_out : 0);
        float out[2][JB][NB];  // the tile's two halves of NB samples
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < tiles; ++t) {
            const int64_t n0 = t * EB;
            const int m = (int)std::min<int64_t>(EB, N - n0);
            if (scatter[t]) {
                for (int k = 0; k < m; ++k)
                    scatter_row(t_crow, t_row, t_val.data(), X + (n0 + k) * ldx, n_in, n_out, active.data(), acc.data(), Y + (n0 + k) * ldy);
                continue;
            }
            const uint32_t* b = bits.data() + t * n_in;
            for (int j0 = 0; j0 < n_out; j0 += JB) {
                const int jn = std::min(JB, n_out - j0);
                for (int jj = 0; jj < jn; ++jj) row_spikes(crow, col, val, b, j0 + jj, out[0][jj], out[1][jj]);
                for (int h = 0; h < 2 && h * NB < m; ++h)
                    store_tile(&out[h][0][0], jn, std::min(NB, m - h * NB), Y, ldy, false, false, n0 + h * NB, j0);
            }
        }
    }
}

// One of the two terms of the node-based L3n score (003 eq. A3/A4), fused so that no dense
// weight matrix is formed: Y[s, j] (+)= sum over links (j, z) of W of f(C[s, z], k_z), where
// C[s, z] = |N(s) ∩ N(z)| counts common neighbours on the "count side" (CSR c_crow/c_col, its
// transpose ct_crow/ct_row) and f(c, k) = num / max(1, k - c) for c > 0 (num = 1 + c for CH2,
// 1 for CH3), else 0. Tiles of NB nodes s: count their two-hop neighbourhoods, write f into the
// (n_count x NB) tile, then run the sparse rows of W over it as in spmm. Counts never exceed the
// largest degree, so they are bytes when it is below 256 (a 4 KiB row per node instead of 16 KiB).
void l3n_term(const idx_t* c_crow, const idx_t* c_col, const idx_t* ct_crow, const idx_t* ct_row, const float* k,
              int n_count, int ch2, const idx_t* w_crow, const idx_t* w_col, int n_rows, float* Y, int64_t ldy, int y_t,
              int accumulate, int nthreads) {
    int kmax = 1;
    for (int z = 0; z < n_count; ++z) kmax = std::max(kmax, (int)k[z]);
    const L3nSides g{c_crow, c_col, ct_crow, ct_row, k, n_count, ch2, w_crow, w_col, n_rows};
    if (kmax < 256)
        l3n_tiles<uint8_t>(g, Y, ldy, y_t, accumulate, nthreads);
    else
        l3n_tiles<int32_t>(g, Y, ldy, y_t, accumulate, nthreads);
}

// Y[i, col] = 0 for every link (i, col) of a CSR pattern: the link scores of existing links
void zero_links(const idx_t* crow, const idx_t* col, int n_rows, float* Y, int64_t ldy, int nthreads) {
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int i = 0; i < n_rows; ++i)
        for (idx_t p = crow[i]; p < crow[i + 1]; ++p) Y[(int64_t)i * ldy + col[p]] = 0.f;
}

// Path-based CH3-L3 (001 eq. 5/19; notes §2.1): S[u, v] = sum over paths u-a-b-v, v not linked
// to u, of [(k_a - TT[a, v]) (k_b - DD[b, u])]^(-1/2). DD[., u] is counted once per u and TT[a, .]
// once per (u, a) in O(n) scratch rows: cost ~ nnz * d^2, no N x N or (m+n)^2 intermediate.
// Both factors are integers, so their inverse square roots come from a table (no sqrt or divide
// per path); links of u are zeroed at the end instead of being tested on every path.
void ch3_l3(const idx_t* crow, const idx_t* col, const idx_t* t_crow, const idx_t* t_row, int n_out, int n_in,
            double* S, int nthreads) {
    int kmax = 1;
    for (int i = 0; i < n_out; ++i) kmax = std::max(kmax, crow[i + 1] - crow[i]);
    for (int i = 0; i < n_in; ++i) kmax = std::max(kmax, t_crow[i + 1] - t_crow[i]);
    std::vector<double> rs(kmax + 1, 0.0);  // float64 like the result: scores tie-break on tiny gaps
    for (int x = 1; x <= kmax; ++x) rs[x] = 1.0 / std::sqrt((double)x);
#pragma omp parallel num_threads(nthreads)
    {
        std::vector<int32_t> dd(n_out, 0), tt(n_in, 0);
        std::vector<double> ra(kmax + 1);
#pragma omp for schedule(dynamic, 8)
        for (int u = 0; u < n_out; ++u) {
            double* row = S + (int64_t)u * n_in;
            std::memset(row, 0, sizeof(double) * n_in);
            for (idx_t p = crow[u]; p < crow[u + 1]; ++p) {
                const int a = col[p];
                for (idx_t q = t_crow[a]; q < t_crow[a + 1]; ++q) dd[t_row[q]] += 1;
            }
            for (idx_t p = crow[u]; p < crow[u + 1]; ++p) {
                const int a = col[p];
                for (idx_t q = t_crow[a]; q < t_crow[a + 1]; ++q)  // TT[a, .]: common outputs of a and v
                    for (idx_t r = crow[t_row[q]]; r < crow[t_row[q] + 1]; ++r) tt[col[r]] += 1;
                const int ka = t_crow[a + 1] - t_crow[a];
                for (int c = 0; c <= ka; ++c) ra[c] = rs[ka - c];  // ra[TT] = (k_a - TT)^(-1/2)
                for (idx_t q = t_crow[a]; q < t_crow[a + 1]; ++q) {
                    const int b = t_row[q];
                    if (b == u) continue;
                    const double rb = rs[(crow[b + 1] - crow[b]) - dd[b]];
                    for (idx_t r = crow[b]; r < crow[b + 1]; ++r) row[col[r]] += ra[tt[col[r]]] * rb;
                }
                for (idx_t q = t_crow[a]; q < t_crow[a + 1]; ++q)
                    for (idx_t r = crow[t_row[q]]; r < crow[t_row[q] + 1]; ++r) tt[col[r]] = 0;
            }
            for (idx_t p = crow[u]; p < crow[u + 1]; ++p) {
                const int a = col[p];
                row[a] = 0.0;
                for (idx_t q = t_crow[a]; q < t_crow[a + 1]; ++q) dd[t_row[q]] = 0;
            }
        }
    }
}

// Links of a 0/1 byte mask (n_rows x n_cols, row-major), row-major like torch.nonzero but
// parallel over rows: mask_row_counts gives the links per row, mask_links (with crow, their
// prefix sums) writes each link's row and column, mask_csr the int32 CSR and its transpose.
void mask_row_counts(const uint8_t* m, int64_t n_rows, int64_t n_cols, int64_t* counts, int nthreads) {
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int64_t i = 0; i < n_rows; ++i) counts[i] = count_set_bytes(m + i * n_cols, n_cols);
}

void mask_links(const uint8_t* m, int64_t n_rows, int64_t n_cols, const int64_t* crow, int64_t* rows, int64_t* cols,
                int nthreads) {
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int64_t i = 0; i < n_rows; ++i) {
        int64_t k = crow[i];
        for_set_bytes(m + i * n_cols, n_cols, [&](int64_t j) { rows[k] = i, cols[k++] = j; });
    }
}

// col from the mask (crow: prefix sums of mask_row_counts), then the transpose t_crow / t_row by
// a counting sort. Each thread owns a static range of rows and fills its slots of every column
// after the lower ranges', so rows come out ascending in each column without a sort.
void mask_csr(const uint8_t* m, int64_t n_rows, int64_t n_cols, const int64_t* crow, idx_t* col, idx_t* t_crow,
              idx_t* t_row, int nthreads) {
    std::vector<idx_t> slot((size_t)nthreads * n_cols, 0);  // per thread: links per column, then next slot
#pragma omp parallel num_threads(nthreads)
    {
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t r0 = n_rows * t / nt, r1 = n_rows * (t + 1) / nt;
        idx_t* next = slot.data() + (size_t)t * n_cols;
        for (int64_t i = r0; i < r1; ++i) {
            int64_t k = crow[i];
            for_set_bytes(m + i * n_cols, n_cols, [&](int64_t j) { col[k++] = (idx_t)j, ++next[j]; });
        }
#pragma omp barrier
#pragma omp single
        {
            t_crow[0] = 0;
            for (int64_t j = 0; j < n_cols; ++j) {
                idx_t s = t_crow[j];
                for (int u = 0; u < nt; ++u) {
                    idx_t& c = slot[(size_t)u * n_cols + j];
                    const idx_t links = c;
                    c = s;  // thread u's first slot in column j
                    s += links;
                }
                t_crow[j + 1] = s;
            }
        }
        for (int64_t i = r0; i < r1; ++i)
            for (int64_t p = crow[i]; p < crow[i + 1]; ++p) t_row[next[col[p]]++] = (idx_t)i;
    }
}

}  // extern "C"
