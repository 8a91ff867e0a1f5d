// A small dense filter bank applied to a frame-major spectrogram with AVX2
// (chroma's 12 × 1025 bank): no packing of the large operand, which is what a
// general GEMM spends its time on at these shapes.
#include "SERKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SER_AVX2 __attribute__((target("avx2,fma")))

SER_AVX2 static inline float horizontal_sum(__m256 v) {
    const __m128 pair = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 two = _mm_add_ps(pair, _mm_movehl_ps(pair, pair));
    return _mm_cvtss_f32(_mm_add_ss(two, _mm_shuffle_ps(two, two, 1)));
}

/// Rows `r0 ..< r0 + group` (group ≤ 4) of the product for frames t and t + 1
/// (the same frame twice when `pair` is 0). Eight independent accumulators keep
/// both FMA ports busy past the instruction's latency.
SER_AVX2 static inline void apply_rows(const float *bank, int r0, int group, int bins, const float *frames, int frame_count,
                                       int t, int pair, float *out) {
    const int vector_bins = bins / 8 * 8;
    const float *x0 = frames + (size_t)t * (size_t)bins, *x1 = pair ? x0 + bins : x0;
    const float *w0 = bank + (size_t)r0 * (size_t)bins;
    const float *w1 = group > 1 ? w0 + bins : w0;
    const float *w2 = group > 2 ? w0 + 2 * (size_t)bins : w0;
    const float *w3 = group > 3 ? w0 + 3 * (size_t)bins : w0;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    for (int k = 0; k < vector_bins; k += 8) {
        const __m256 x = _mm256_loadu_ps(x0 + k), y = _mm256_loadu_ps(x1 + k);
        const __m256 v0 = _mm256_loadu_ps(w0 + k), v1 = _mm256_loadu_ps(w1 + k);
        const __m256 v2 = _mm256_loadu_ps(w2 + k), v3 = _mm256_loadu_ps(w3 + k);
        a0 = _mm256_fmadd_ps(v0, x, a0); b0 = _mm256_fmadd_ps(v0, y, b0);
        a1 = _mm256_fmadd_ps(v1, x, a1); b1 = _mm256_fmadd_ps(v1, y, b1);
        a2 = _mm256_fmadd_ps(v2, x, a2); b2 = _mm256_fmadd_ps(v2, y, b2);
        a3 = _mm256_fmadd_ps(v3, x, a3); b3 = _mm256_fmadd_ps(v3, y, b3);
    }
    float first[4] = {horizontal_sum(a0), horizontal_sum(a1), horizontal_sum(a2), horizontal_sum(a3)};
    float second[4] = {horizontal_sum(b0), horizontal_sum(b1), horizontal_sum(b2), horizontal_sum(b3)};
    const float *weights[4] = {w0, w1, w2, w3};
    for (int j = 0; j < 4; j++) {
        for (int k = vector_bins; k < bins; k++) {
            first[j] += weights[j][k] * x0[k];
            second[j] += weights[j][k] * x1[k];
        }
    }
    for (int j = 0; j < group; j++) {
        out[(size_t)(r0 + j) * (size_t)frame_count + (size_t)t] = first[j];
        if (pair) out[(size_t)(r0 + j) * (size_t)frame_count + (size_t)t + 1] = second[j];
    }
}

SER_AVX2 static void apply_dense_bank_avx2(const float *bank, int rows, int bins, const float *frames, int frame_count,
                                           float *out) {
    for (int t = 0; t < frame_count; t += 2) {
        const int pair = t + 1 < frame_count;
        for (int r0 = 0; r0 < rows; r0 += 4) {
            apply_rows(bank, r0, rows - r0 < 4 ? rows - r0 : 4, bins, frames, frame_count, t, pair, out);
        }
    }
}
#endif

int ser_apply_dense_bank(const float *bank, int rows, int bins, const float *frames, int frame_count, float *out) {
#if defined(__x86_64__)
    if (!ser_kernels_available() || rows < 1 || bins < 1 || frame_count < 1) return 0;
    apply_dense_bank_avx2(bank, rows, bins, frames, frame_count, out);
    return 1;
#else
    (void)bank; (void)rows; (void)bins; (void)frames; (void)frame_count; (void)out;
    return 0;
#endif
}
