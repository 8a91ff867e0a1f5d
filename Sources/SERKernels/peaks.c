// piptrack's spectral peak scan with AVX2: eight bins per comparison, the set
// bits of the resulting mask recorded in order.
#include "SERKernels.h"

// Each peak's interpolation is computed operation by operation, as the portable
// Swift path computes it: no fused multiply-adds that would round differently.
#pragma STDC FP_CONTRACT OFF

#if defined(__x86_64__)
#include <immintrin.h>
#define SER_AVX2 __attribute__((target("avx2,fma")))

/// Records the peak at bin k of frame s: parabolic interpolation on the ungated
/// spectrum, no shift at the last bin.
static inline void record_peak(const float *s, int k, int bins, double *positions, float *magnitudes, size_t *count) {
    float shift = 0, slope = 0;
    if (k < bins - 1) {
        const float a = (s[k + 1] + s[k - 1]) - 2 * s[k];
        const float b = (s[k + 1] - s[k - 1]) / 2;
        if (__builtin_fabsf(b) < __builtin_fabsf(a)) shift = -b / a;
        slope = b;
    }
    positions[*count] = (double)k + (double)shift;
    magnitudes[*count] = s[k] + (0.5f * slope) * shift;
    *count += 1;
}

/// For each 8-bit mask, the lanes whose bit is set, in order (left-packing).
static unsigned char pack_indices[256][8];

__attribute__((constructor)) static void build_pack_indices(void) {
    for (int mask = 0; mask < 256; mask++) {
        int n = 0;
        for (int lane = 0; lane < 8; lane++) if (mask >> lane & 1) pack_indices[mask][n++] = (unsigned char)lane;
        while (n < 8) pack_indices[mask][n++] = 0;
    }
}

SER_AVX2 static size_t spectral_peaks_avx2(const float *spectrum, int frames, int bins, int first_bin, int end_bin,
                                           float threshold, const float *frame_maxima, double *positions, float *magnitudes) {
    size_t count = 0;
    const int interior_end = end_bin < bins - 1 ? end_bin : bins - 1;
    const __m256 two = _mm256_set1_ps(2), half = _mm256_set1_ps(0.5f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i lane_numbers = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int t = 0; t < frames; t++) {
        const float *s = spectrum + (size_t)t * (size_t)bins;
        const float reference = threshold * frame_maxima[t];
        const __m256 level = _mm256_set1_ps(reference);
        int k = first_bin;
        // A peak clears the threshold, beats its gated left neighbour and is not
        // below its gated right one (a neighbour under the threshold counts as 0).
        // The interpolation runs on all eight lanes, branch-free, and the peaks'
        // lanes are packed to the front and stored (the outputs have 8 spare slots).
        for (; k + 8 <= interior_end; k += 8) {
            const __m256 left = _mm256_loadu_ps(s + k - 1), centre = _mm256_loadu_ps(s + k), right = _mm256_loadu_ps(s + k + 1);
            const __m256 above = _mm256_cmp_ps(centre, level, _CMP_GT_OQ);
            const __m256 beats_left = _mm256_or_ps(_mm256_cmp_ps(centre, left, _CMP_GT_OQ), _mm256_cmp_ps(left, level, _CMP_LE_OQ));
            const __m256 holds_right = _mm256_or_ps(_mm256_cmp_ps(centre, right, _CMP_GE_OQ), _mm256_cmp_ps(right, level, _CMP_LE_OQ));
            const int bits = _mm256_movemask_ps(_mm256_and_ps(above, _mm256_and_ps(beats_left, holds_right)));
            if (!bits) continue;
            const __m256 a = _mm256_sub_ps(_mm256_add_ps(right, left), _mm256_mul_ps(two, centre));
            const __m256 b = _mm256_div_ps(_mm256_sub_ps(right, left), two);
            const __m256 steep = _mm256_cmp_ps(_mm256_andnot_ps(sign, b), _mm256_andnot_ps(sign, a), _CMP_LT_OQ);
            const __m256 shift = _mm256_and_ps(steep, _mm256_div_ps(_mm256_xor_ps(sign, b), a));
            const __m256 magnitude = _mm256_add_ps(centre, _mm256_mul_ps(_mm256_mul_ps(half, b), shift));
            const __m256i order = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)pack_indices[bits]));
            const __m256 packed_shift = _mm256_permutevar8x32_ps(shift, order);
            const __m256i packed_bin = _mm256_permutevar8x32_epi32(_mm256_add_epi32(_mm256_set1_epi32(k), lane_numbers), order);
            _mm256_storeu_ps(magnitudes + count, _mm256_permutevar8x32_ps(magnitude, order));
            _mm256_storeu_pd(positions + count, _mm256_add_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(packed_bin)),
                                                              _mm256_cvtps_pd(_mm256_castps256_ps128(packed_shift))));
            _mm256_storeu_pd(positions + count + 4, _mm256_add_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(packed_bin, 1)),
                                                                  _mm256_cvtps_pd(_mm256_extractf128_ps(packed_shift, 1))));
            count += (size_t)__builtin_popcount((unsigned)bits);
        }
        for (; k < end_bin; k++) {
            const float value = s[k] > reference ? s[k] : 0;
            if (!(value > 0)) continue;
            const float left = s[k - 1] > reference ? s[k - 1] : 0;
            int is_peak = value > left;
            if (k < bins - 1) {
                const float right = s[k + 1] > reference ? s[k + 1] : 0;
                is_peak = is_peak && value >= right;
            }
            if (is_peak) record_peak(s, k, bins, positions, magnitudes, &count);
        }
    }
    return count;
}
#endif

long ser_spectral_peaks(const float *spectrum, int frames, int bins, int first_bin, int end_bin, float threshold,
                        const float *frame_maxima, double *positions, float *magnitudes) {
#if defined(__x86_64__)
    if (!ser_kernels_available() || frames < 0 || first_bin < 1 || end_bin > bins) return -1;
    return (long)spectral_peaks_avx2(spectrum, frames, bins, first_bin, end_bin, threshold, frame_maxima, positions, magnitudes);
#else
    (void)spectrum; (void)frames; (void)bins; (void)first_bin; (void)end_bin; (void)threshold;
    (void)frame_maxima; (void)positions; (void)magnitudes;
    return -1;
#endif
}
