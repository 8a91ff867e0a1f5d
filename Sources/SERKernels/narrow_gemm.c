// Products with a narrow output, `C = α · A · B + β · C` and `C = α · Aᵀ · G + β · C`
// with at most 16 columns in B, G and C: a linear classifier's logits over every
// training row (`A` is rows × features, B features × classes) and its gradient.
//
// A general sgemm packs A on every call; with 8 output columns the packing costs
// more than the arithmetic (a logistic-regression fit spent three quarters of its
// time copying). Here A is streamed once, as it lies, and B or G is padded once to
// 8 or 16 columns.
//
// Every output element is one chain of fused multiply-adds in a fixed order (inputs
// in order for `A · B`, rows in order for `Aᵀ · G`), then `α · sum + β · C`, so a
// call split over output rows (`A · B`) or output rows of `Aᵀ · G` (A's columns)
// gives the same bits however it is split. There is no portable path: without AVX2 the
// functions return 0 and callers use sgemm.
#include "SERKernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SER_NARROW_X86 1
#define SER_NARROW_AVX2 __attribute__((target("avx2,fma")))
#endif

#define NARROW_MAX 16

int ser_narrow_gemm_available(void) {
#if SER_NARROW_X86
    __builtin_cpu_init();
    return ser_max_cpu_isa() >= SER_ISA_AVX2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int ser_narrow_width(int n) { return n <= 8 ? 8 : NARROW_MAX; }

void ser_narrow_pad(const float *b, int rows, int n, int ldb, float *padded) {
    int width = ser_narrow_width(n);
    for (int r = 0; r < rows; r++) {
        float *line = padded + (size_t)r * width;
        memset(line, 0, sizeof(float) * (size_t)width);
        memcpy(line, b + (size_t)r * ldb, sizeof(float) * (size_t)n);
    }
}

static inline void finish_row(const float *sum, int n, float alpha, float beta, float *c) {
    for (int j = 0; j < n; j++) {
        float scaled = alpha * sum[j];
        c[j] = beta == 0.0f ? scaled : fmaf(beta, c[j], scaled);
    }
}

#if SER_NARROW_X86
#define NN_ROWS 4
// Rows [begin, end) of C = α · A · B + β · C, B padded to `width` (8 or 16) columns.
SER_NARROW_AVX2 static void nn_avx2(const float *a, int lda, const float *bp, int width, int k, int n, int begin, int end,
                                    float alpha, float beta, float *c, int ldc) {
    int halves = width / 8;
    int r = begin;
    for (; r + NN_ROWS <= end; r += NN_ROWS) {
        __m256 acc[NN_ROWS][2];
        for (int i = 0; i < NN_ROWS; i++) { acc[i][0] = _mm256_setzero_ps(); acc[i][1] = _mm256_setzero_ps(); }
        const float *rows[NN_ROWS];
        for (int i = 0; i < NN_ROWS; i++) rows[i] = a + (size_t)(r + i) * lda;
        if (halves == 1) {
            for (int q = 0; q < k; q++) {
                __m256 b0 = _mm256_loadu_ps(bp + (size_t)q * 8);
                for (int i = 0; i < NN_ROWS; i++) acc[i][0] = _mm256_fmadd_ps(_mm256_broadcast_ss(rows[i] + q), b0, acc[i][0]);
            }
        } else {
            for (int q = 0; q < k; q++) {
                __m256 b0 = _mm256_loadu_ps(bp + (size_t)q * 16), b1 = _mm256_loadu_ps(bp + (size_t)q * 16 + 8);
                for (int i = 0; i < NN_ROWS; i++) {
                    __m256 x = _mm256_broadcast_ss(rows[i] + q);
                    acc[i][0] = _mm256_fmadd_ps(x, b0, acc[i][0]);
                    acc[i][1] = _mm256_fmadd_ps(x, b1, acc[i][1]);
                }
            }
        }
        for (int i = 0; i < NN_ROWS; i++) {
            float sum[NARROW_MAX];
            _mm256_storeu_ps(sum, acc[i][0]);
            _mm256_storeu_ps(sum + 8, acc[i][1]);
            finish_row(sum, n, alpha, beta, c + (size_t)(r + i) * ldc);
        }
    }
    for (; r < end; r++) {
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        const float *row = a + (size_t)r * lda;
        for (int q = 0; q < k; q++) {
            __m256 x = _mm256_broadcast_ss(row + q);
            acc0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(bp + (size_t)q * width), acc0);
            if (halves == 2) acc1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(bp + (size_t)q * width + 8), acc1);
        }
        float sum[NARROW_MAX];
        _mm256_storeu_ps(sum, acc0);
        _mm256_storeu_ps(sum + 8, acc1);
        finish_row(sum, n, alpha, beta, c + (size_t)r * ldc);
    }
}

#define TN_ROWS 8
// Output rows [begin, end) (columns of A) of the sums Σ_i A[i][col] · G[i][·], into
// `sums` (k × width, row `col` at col · width), rows of A in order.
SER_NARROW_AVX2 static void tn_avx2(const float *a, int lda, const float *gp, int width, int m, int begin, int end,
                                    float *sums) {
    for (int col = begin; col < end; col++) {
        _mm256_storeu_ps(sums + (size_t)col * width, _mm256_setzero_ps());
        if (width == 16) _mm256_storeu_ps(sums + (size_t)col * width + 8, _mm256_setzero_ps());
    }
    int i = 0;
    if (width == 8) {
        for (; i + TN_ROWS <= m; i += TN_ROWS) {
            __m256 g[TN_ROWS];
            const float *rows[TN_ROWS];
            for (int t = 0; t < TN_ROWS; t++) { g[t] = _mm256_loadu_ps(gp + (size_t)(i + t) * 8); rows[t] = a + (size_t)(i + t) * lda; }
            for (int col = begin; col < end; col++) {
                __m256 s = _mm256_loadu_ps(sums + (size_t)col * 8);
                for (int t = 0; t < TN_ROWS; t++) s = _mm256_fmadd_ps(_mm256_broadcast_ss(rows[t] + col), g[t], s);
                _mm256_storeu_ps(sums + (size_t)col * 8, s);
            }
        }
    } else {
        for (; i + TN_ROWS / 2 <= m; i += TN_ROWS / 2) {
            __m256 g[TN_ROWS / 2][2];
            const float *rows[TN_ROWS / 2];
            for (int t = 0; t < TN_ROWS / 2; t++) {
                g[t][0] = _mm256_loadu_ps(gp + (size_t)(i + t) * 16);
                g[t][1] = _mm256_loadu_ps(gp + (size_t)(i + t) * 16 + 8);
                rows[t] = a + (size_t)(i + t) * lda;
            }
            for (int col = begin; col < end; col++) {
                __m256 s0 = _mm256_loadu_ps(sums + (size_t)col * 16), s1 = _mm256_loadu_ps(sums + (size_t)col * 16 + 8);
                for (int t = 0; t < TN_ROWS / 2; t++) {
                    __m256 x = _mm256_broadcast_ss(rows[t] + col);
                    s0 = _mm256_fmadd_ps(x, g[t][0], s0);
                    s1 = _mm256_fmadd_ps(x, g[t][1], s1);
                }
                _mm256_storeu_ps(sums + (size_t)col * 16, s0);
                _mm256_storeu_ps(sums + (size_t)col * 16 + 8, s1);
            }
        }
    }
    for (; i < m; i++) {
        const float *row = a + (size_t)i * lda;
        __m256 g0 = _mm256_loadu_ps(gp + (size_t)i * width);
        __m256 g1 = width == 16 ? _mm256_loadu_ps(gp + (size_t)i * width + 8) : _mm256_setzero_ps();
        for (int col = begin; col < end; col++) {
            __m256 x = _mm256_broadcast_ss(row + col);
            _mm256_storeu_ps(sums + (size_t)col * width, _mm256_fmadd_ps(x, g0, _mm256_loadu_ps(sums + (size_t)col * width)));
            if (width == 16)
                _mm256_storeu_ps(sums + (size_t)col * width + 8, _mm256_fmadd_ps(x, g1, _mm256_loadu_ps(sums + (size_t)col * width + 8)));
        }
    }
}
#endif

int ser_narrow_gemm_nn(const float *a, int lda, const float *b_padded, int k, int n, int row_begin, int row_end,
                       float alpha, float beta, float *c, int ldc) {
    if (n <= 0 || n > NARROW_MAX || k <= 0 || row_begin >= row_end) return 0;
#if SER_NARROW_X86
    if (ser_narrow_gemm_available()) {
        nn_avx2(a, lda, b_padded, ser_narrow_width(n), k, n, row_begin, row_end, alpha, beta, c, ldc);
        return 1;
    }
#endif
    (void)a; (void)lda; (void)b_padded; (void)alpha; (void)beta; (void)c; (void)ldc;
    return 0;
}

int ser_narrow_gemm_tn(const float *a, int lda, const float *g_padded, int m, int n, int column_begin, int column_end,
                       float alpha, float beta, float *c, int ldc, float *scratch) {
    if (n <= 0 || n > NARROW_MAX || m <= 0 || column_begin >= column_end) return 0;
#if SER_NARROW_X86
    if (ser_narrow_gemm_available()) {
        int width = ser_narrow_width(n);
        tn_avx2(a, lda, g_padded, width, m, column_begin, column_end, scratch);
        for (int col = column_begin; col < column_end; col++)
            finish_row(scratch + (size_t)col * width, n, alpha, beta, c + (size_t)col * ldc);
        return 1;
    }
#endif
    (void)a; (void)lda; (void)g_padded; (void)alpha; (void)beta; (void)c; (void)ldc; (void)scratch;
    return 0;
}
