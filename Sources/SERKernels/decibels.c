// Decibel conversion with AVX2: librosa's power_to_db over a whole matrix.
#include "SERKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SER_AVX2 __attribute__((target("avx2,fma")))

/// ln x for positive normal floats, eight at a time, to within about an ulp: the
/// same reduction and Cephes polynomial as the portable Swift path (Decibels.swift):
/// x = m · 2^e with m in [√½, √2) found by shifting the bits by those of √½.
SER_AVX2 static inline __m256 natural_log(__m256 x) {
    const __m256i shifted = _mm256_add_epi32(_mm256_castps_si256(x), _mm256_set1_epi32(0x3F800000 - 0x3F3504F3));
    const __m256 exponent = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srai_epi32(shifted, 23), _mm256_set1_epi32(127)));
    const __m256 m = _mm256_castsi256_ps(
        _mm256_add_epi32(_mm256_and_si256(shifted, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F3504F3)));
    const __m256 z = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
    const __m256 z2 = _mm256_mul_ps(z, z);
    __m256 p = _mm256_set1_ps(7.0376836292e-2f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-1.1514610310e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.1676998740e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-1.2420140846e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.4249322787e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-1.6668057665e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.0000714765e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-2.4999993993e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(3.3333331174e-1f));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(z, z2), p);
    y = _mm256_fmadd_ps(_mm256_set1_ps(-2.12194440e-4f), exponent, y);
    y = _mm256_fmadd_ps(_mm256_set1_ps(-0.5f), z2, y);
    return _mm256_add_ps(_mm256_add_ps(z, y), _mm256_mul_ps(_mm256_set1_ps(0.693359375f), exponent));
}

SER_AVX2 static int power_to_db_avx2(float *values, size_t count, float amin, float reference_db, float *peak) {
    const __m256 infinity = _mm256_set1_ps(__builtin_inff());
    const __m256 sign = _mm256_set1_ps(-0.0f);
    size_t i = 0;
    // Every value finite, or nothing is changed.
    __m256 finite = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    for (; i + 8 <= count; i += 8) {
        const __m256 magnitude = _mm256_andnot_ps(sign, _mm256_loadu_ps(values + i));
        finite = _mm256_and_ps(finite, _mm256_cmp_ps(magnitude, infinity, _CMP_LT_OQ));
    }
    if (_mm256_movemask_ps(finite) != 0xFF) return 0;
    for (; i < count; i++) {
        const float magnitude = values[i] < 0 ? -values[i] : values[i];
        if (!(magnitude < __builtin_inff())) return 0;
    }
    const __m256 floor = _mm256_set1_ps(amin), reference = _mm256_set1_ps(reference_db);
    const __m256 per_neper = _mm256_set1_ps(4.342944819032518f);
    __m256 largest = _mm256_set1_ps(-__builtin_inff());
    for (i = 0; i + 8 <= count; i += 8) {
        const __m256 x = _mm256_max_ps(_mm256_loadu_ps(values + i), floor);
        const __m256 db = _mm256_sub_ps(_mm256_mul_ps(per_neper, natural_log(x)), reference);
        _mm256_storeu_ps(values + i, db);
        largest = _mm256_max_ps(largest, db);
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, largest);
    float result = lanes[0];
    for (int j = 1; j < 8; j++) result = lanes[j] > result ? lanes[j] : result;
    if (i < count) {
        // The tail through the same vector code, padded with the floor.
        float tail[8];
        const size_t left = count - i;
        for (size_t j = 0; j < 8; j++) tail[j] = j < left ? values[i + j] : amin;
        const __m256 x = _mm256_max_ps(_mm256_loadu_ps(tail), floor);
        _mm256_storeu_ps(tail, _mm256_sub_ps(_mm256_mul_ps(per_neper, natural_log(x)), reference));
        for (size_t j = 0; j < left; j++) {
            values[i + j] = tail[j];
            result = tail[j] > result ? tail[j] : result;
        }
    }
    *peak = result;
    return 1;
}

SER_AVX2 static void raise_to_avx2(float *values, size_t count, float lowest) {
    const __m256 floor = _mm256_set1_ps(lowest);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(values + i, _mm256_max_ps(_mm256_loadu_ps(values + i), floor));
    for (; i < count; i++) values[i] = values[i] < lowest ? lowest : values[i];
}
#endif

int ser_power_to_db(float *values, size_t count, float amin, float reference_db, float *peak) {
#if defined(__x86_64__)
    if (!(amin >= 1.17549435e-38f) || !ser_kernels_available()) return 0;
    return power_to_db_avx2(values, count, amin, reference_db, peak);
#else
    (void)values; (void)count; (void)amin; (void)reference_db; (void)peak;
    return 0;
#endif
}

void ser_raise_to(float *values, size_t count, float lowest) {
#if defined(__x86_64__)
    if (ser_kernels_available()) {
        raise_to_avx2(values, count, lowest);
        return;
    }
#endif
    for (size_t i = 0; i < count; i++) values[i] = values[i] < lowest ? lowest : values[i];
}
