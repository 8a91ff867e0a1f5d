// Batched real FFT magnitudes with AVX2: eight frames ride in the eight lanes
// of each vector, so every butterfly of every stage is a full-width operation
// and no lane shuffles are needed inside the transform. Frames enter and leave
// through 8×8 transposes.
//
// The algorithm is the one of the portable Swift path (RealFFT / ComplexFFT):
// the N real samples are packed as N/2 complex values (even + i·odd), a
// decimation-in-time FFT runs its first two stages as 4-point DFTs read in
// bit-reversed order and the rest as radix-4 passes (one radix-2 pass first
// when the count of remaining stages is odd), and the half-length spectrum is
// split into the real signal's N/2 + 1 bins.
#include "SERKernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SER_VECTOR_KERNELS 1
#define SER_AVX2 __attribute__((target("avx2,fma")))
#endif

struct ser_stft_plan {
    int size;         // N
    int half;         // N / 2, the complex FFT's length
    int *reversed;    // half / 4 entries: bit reversal of each 4-point group index
    float *stage_cos; // twiddles of each stage of length L at offset L/2 − 1
    float *stage_sin;
    float *split_cos; // exp(−2πik/N), k ≤ N/2
    float *split_sin;
    float *in_re, *in_im;   // half × 8 lanes: packed input
    float *out_re, *out_im; // half × 8 lanes: the complex FFT
    float *staging;         // (half + 1) × 8 lanes: magnitudes bin by bin
};

static void *aligned_floats(size_t count) {
    size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
    void *memory = aligned_alloc(64, bytes);
    if (memory) memset(memory, 0, bytes);
    return memory;
}

int ser_kernels_available(void) {
#if SER_VECTOR_KERNELS
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void ser_stft_plan_destroy(ser_stft_plan *plan) {
    if (!plan) return;
    free(plan->reversed);
    free(plan->stage_cos);
    free(plan->stage_sin);
    free(plan->split_cos);
    free(plan->split_sin);
    free(plan->in_re);
    free(plan->in_im);
    free(plan->out_re);
    free(plan->out_im);
    free(plan->staging);
    free(plan);
}

ser_stft_plan *ser_stft_plan_create(int fft_size) {
    if (!ser_kernels_available() || fft_size < 16 || (fft_size & (fft_size - 1)) != 0) return NULL;
    ser_stft_plan *plan = calloc(1, sizeof(ser_stft_plan));
    if (!plan) return NULL;
    const int n = fft_size, half = n / 2, groups = half / 4;
    plan->size = n;
    plan->half = half;
    plan->reversed = malloc(sizeof(int) * (size_t)groups);
    plan->stage_cos = aligned_floats((size_t)half);
    plan->stage_sin = aligned_floats((size_t)half);
    plan->split_cos = aligned_floats((size_t)half + 1);
    plan->split_sin = aligned_floats((size_t)half + 1);
    plan->in_re = aligned_floats((size_t)half * 8);
    plan->in_im = aligned_floats((size_t)half * 8);
    plan->out_re = aligned_floats((size_t)half * 8);
    plan->out_im = aligned_floats((size_t)half * 8);
    plan->staging = aligned_floats(((size_t)half + 1) * 8);
    if (!plan->reversed || !plan->stage_cos || !plan->stage_sin || !plan->split_cos || !plan->split_sin
        || !plan->in_re || !plan->in_im || !plan->out_re || !plan->out_im || !plan->staging) {
        ser_stft_plan_destroy(plan);
        return NULL;
    }
    int group_bits = 0;
    while ((1 << group_bits) < groups) group_bits++;
    for (int g = 0; g < groups; g++) {
        int value = g, reversed = 0;
        for (int b = 0; b < group_bits; b++) { reversed = (reversed << 1) | (value & 1); value >>= 1; }
        plan->reversed[g] = reversed;
    }
    int offset = 0;
    for (int length = 2; length <= half; length *= 2) {
        for (int j = 0; j < length / 2; j++) {
            double angle = -2.0 * M_PI * (double)j / (double)length;
            plan->stage_cos[offset + j] = (float)cos(angle);
            plan->stage_sin[offset + j] = (float)sin(angle);
        }
        offset += length / 2;
    }
    for (int k = 0; k <= half; k++) {
        double angle = -2.0 * M_PI * (double)k / (double)n;
        plan->split_cos[k] = (float)cos(angle);
        plan->split_sin[k] = (float)sin(angle);
    }
    return plan;
}

#if SER_VECTOR_KERNELS

/// Transposes the 8×8 block held in `r` (row i becomes column i).
SER_AVX2 static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/// Windows the frames and packs them lane by lane: sample 2m of frame i goes
/// to in_re[8m + i], sample 2m + 1 to in_im[8m + i].
SER_AVX2 static void pack_frames(ser_stft_plan *plan, const float *const *frames, int count, const float *window) {
    const int n = plan->size;
    float *re = plan->in_re, *im = plan->in_im;
    for (int start = 0; start < n; start += 8) {
        __m256 rows[8];
        for (int i = 0; i < 8; i++) rows[i] = i < count ? _mm256_loadu_ps(frames[i] + start) : _mm256_setzero_ps();
        transpose8(rows);
        const int m = start / 2;
        for (int j = 0; j < 8; j += 2) {
            _mm256_store_ps(re + 8 * (m + j / 2), _mm256_mul_ps(rows[j], _mm256_set1_ps(window[start + j])));
            _mm256_store_ps(im + 8 * (m + j / 2), _mm256_mul_ps(rows[j + 1], _mm256_set1_ps(window[start + j + 1])));
        }
    }
}

/// The first two stages (4-point DFTs read in bit-reversed order) for groups
/// `g0 ..< g1`: group g is the DFT of inputs r, r + n/2, r + n/4, r + 3n/4, with
/// r the bit reversal of g, and fills outputs 4g ..< 4g + 4.
SER_AVX2 static void first_stages(const ser_stft_plan *plan, int g0, int g1) {
    const int quarter = plan->half / 4;
    const float *sr = plan->in_re, *si = plan->in_im;
    float *re = plan->out_re, *im = plan->out_im;
    for (int g = g0; g < g1; g++) {
        const int r = plan->reversed[g];
        __m256 a0r = _mm256_load_ps(sr + 8 * r), a0i = _mm256_load_ps(si + 8 * r);
        __m256 a1r = _mm256_load_ps(sr + 8 * (r + 2 * quarter)), a1i = _mm256_load_ps(si + 8 * (r + 2 * quarter));
        __m256 a2r = _mm256_load_ps(sr + 8 * (r + quarter)), a2i = _mm256_load_ps(si + 8 * (r + quarter));
        __m256 a3r = _mm256_load_ps(sr + 8 * (r + 3 * quarter)), a3i = _mm256_load_ps(si + 8 * (r + 3 * quarter));
        __m256 x0r = _mm256_add_ps(a0r, a1r), x0i = _mm256_add_ps(a0i, a1i);
        __m256 x1r = _mm256_sub_ps(a0r, a1r), x1i = _mm256_sub_ps(a0i, a1i);
        __m256 x2r = _mm256_add_ps(a2r, a3r), x2i = _mm256_add_ps(a2i, a3i);
        __m256 x3r = _mm256_sub_ps(a2r, a3r), x3i = _mm256_sub_ps(a2i, a3i);
        float *orr = re + 32 * g, *oi = im + 32 * g;
        _mm256_store_ps(orr, _mm256_add_ps(x0r, x2r));
        _mm256_store_ps(oi, _mm256_add_ps(x0i, x2i));
        _mm256_store_ps(orr + 16, _mm256_sub_ps(x0r, x2r));
        _mm256_store_ps(oi + 16, _mm256_sub_ps(x0i, x2i));
        // The second butterfly's length-4 twiddle is −i.
        _mm256_store_ps(orr + 8, _mm256_add_ps(x1r, x3i));
        _mm256_store_ps(oi + 8, _mm256_sub_ps(x1i, x3r));
        _mm256_store_ps(orr + 24, _mm256_sub_ps(x1r, x3i));
        _mm256_store_ps(oi + 24, _mm256_add_ps(x1i, x3r));
    }
}

/// One radix-2 stage of length 8 over points `p0 ..< p1` (multiples of 8).
SER_AVX2 static void radix2_stage8(const ser_stft_plan *plan, int p0, int p1) {
    float *re = plan->out_re, *im = plan->out_im;
    const float *wc = plan->stage_cos + 3, *ws = plan->stage_sin + 3;
    for (int start = p0; start < p1; start += 8) {
        for (int j = 0; j < 4; j++) {
            __m256 wr = _mm256_set1_ps(wc[j]), wi = _mm256_set1_ps(ws[j]);
            float *ar = re + 8 * (start + j), *ai = im + 8 * (start + j);
            float *br = re + 8 * (start + j + 4), *bi = im + 8 * (start + j + 4);
            __m256 xr = _mm256_load_ps(br), xi = _mm256_load_ps(bi);
            __m256 tr = _mm256_fmsub_ps(wr, xr, _mm256_mul_ps(wi, xi));
            __m256 ti = _mm256_fmadd_ps(wr, xi, _mm256_mul_ps(wi, xr));
            __m256 yr = _mm256_load_ps(ar), yi = _mm256_load_ps(ai);
            _mm256_store_ps(br, _mm256_sub_ps(yr, tr));
            _mm256_store_ps(bi, _mm256_sub_ps(yi, ti));
            _mm256_store_ps(ar, _mm256_add_ps(yr, tr));
            _mm256_store_ps(ai, _mm256_add_ps(yi, ti));
        }
    }
}

/// The stages of lengths `length` and 2·`length` in one pass over points
/// `p0 ..< p1` (multiples of 2·`length`).
SER_AVX2 static void radix4_pass(const ser_stft_plan *plan, int length, int p0, int p1) {
    float *re = plan->out_re, *im = plan->out_im;
    const int h = length / 2;
    const float *c1 = plan->stage_cos + h - 1, *s1 = plan->stage_sin + h - 1;
    const float *c2 = plan->stage_cos + length - 1, *s2 = plan->stage_sin + length - 1;
    for (int start = p0; start < p1; start += 2 * length) {
        float *r0 = re + 8 * start, *i0 = im + 8 * start;
        float *r1 = r0 + 8 * h, *i1 = i0 + 8 * h;
        float *r2 = r0 + 8 * length, *i2 = i0 + 8 * length;
        float *r3 = r2 + 8 * h, *i3 = i2 + 8 * h;
        for (int j = 0; j < h; j++) {
            const int o = 8 * j;
            __m256 w1r = _mm256_set1_ps(c1[j]), w1i = _mm256_set1_ps(s1[j]);
            __m256 w2r = _mm256_set1_ps(c2[j]), w2i = _mm256_set1_ps(s2[j]);
            __m256 a0r = _mm256_load_ps(r0 + o), a0i = _mm256_load_ps(i0 + o);
            __m256 a1r = _mm256_load_ps(r1 + o), a1i = _mm256_load_ps(i1 + o);
            __m256 a2r = _mm256_load_ps(r2 + o), a2i = _mm256_load_ps(i2 + o);
            __m256 a3r = _mm256_load_ps(r3 + o), a3i = _mm256_load_ps(i3 + o);
            // First stage: (a0, a1) and (a2, a3) with w1.
            __m256 tr = _mm256_fmsub_ps(w1r, a1r, _mm256_mul_ps(w1i, a1i));
            __m256 ti = _mm256_fmadd_ps(w1r, a1i, _mm256_mul_ps(w1i, a1r));
            __m256 x0r = _mm256_add_ps(a0r, tr), x0i = _mm256_add_ps(a0i, ti);
            __m256 x1r = _mm256_sub_ps(a0r, tr), x1i = _mm256_sub_ps(a0i, ti);
            tr = _mm256_fmsub_ps(w1r, a3r, _mm256_mul_ps(w1i, a3i));
            ti = _mm256_fmadd_ps(w1r, a3i, _mm256_mul_ps(w1i, a3r));
            __m256 x2r = _mm256_add_ps(a2r, tr), x2i = _mm256_add_ps(a2i, ti);
            __m256 x3r = _mm256_sub_ps(a2r, tr), x3i = _mm256_sub_ps(a2i, ti);
            // Second stage: (x0, x2) with w2, (x1, x3) with −i·w2.
            tr = _mm256_fmsub_ps(w2r, x2r, _mm256_mul_ps(w2i, x2i));
            ti = _mm256_fmadd_ps(w2r, x2i, _mm256_mul_ps(w2i, x2r));
            _mm256_store_ps(r0 + o, _mm256_add_ps(x0r, tr));
            _mm256_store_ps(i0 + o, _mm256_add_ps(x0i, ti));
            _mm256_store_ps(r2 + o, _mm256_sub_ps(x0r, tr));
            _mm256_store_ps(i2 + o, _mm256_sub_ps(x0i, ti));
            tr = _mm256_fmadd_ps(w2i, x3r, _mm256_mul_ps(w2r, x3i));
            ti = _mm256_fmsub_ps(w2i, x3i, _mm256_mul_ps(w2r, x3r));
            _mm256_store_ps(r1 + o, _mm256_add_ps(x1r, tr));
            _mm256_store_ps(i1 + o, _mm256_add_ps(x1i, ti));
            _mm256_store_ps(r3 + o, _mm256_sub_ps(x1r, tr));
            _mm256_store_ps(i3 + o, _mm256_sub_ps(x1i, ti));
        }
    }
}

/// Points per cache block: 256 complex points × 8 lanes of re and im are 16 KB,
/// so the early stages of one block run inside L1.
#define SER_FFT_BLOCK 256

/// The complex FFT of in_* into out_*, eight transforms side by side. Stages
/// whose butterfly groups fit in a block run block by block (each block stays in
/// L1 from its first stage to its last small one); the rest run over the whole array.
SER_AVX2 static void complex_fft(ser_stft_plan *plan) {
    const int n = plan->half;
    int stages_left = 0;
    for (int l = 8; l <= n; l *= 2) stages_left++;
    const int odd = stages_left % 2 == 1;
    const int block = n < SER_FFT_BLOCK ? n : SER_FFT_BLOCK;
    // The lengths of the block-local passes: each pass's groups span 2·length points.
    int length = 8;
    for (int p0 = 0; p0 < n; p0 += block) {
        first_stages(plan, p0 / 4, (p0 + block) / 4);
        length = 8;
        if (odd) {
            radix2_stage8(plan, p0, p0 + block);
            length = 16;
        }
        for (; length < n && 2 * length <= block; length *= 4) radix4_pass(plan, length, p0, p0 + block);
    }
    for (; length < n; length *= 4) radix4_pass(plan, length, 0, n);
}

/// |X| of bin k from the packed spectrum Z: X[k] = E[k] + W^k·O[k] with
/// E = (Z[k] + conj Z[h−k]) / 2 and O = (Z[k] − conj Z[h−k]) / (2i).
SER_AVX2 static inline __m256 split_magnitude(const ser_stft_plan *plan, int k) {
    const int h = plan->half;
    const __m256 zr = _mm256_load_ps(plan->out_re + 8 * k), zi = _mm256_load_ps(plan->out_im + 8 * k);
    const __m256 cr = _mm256_load_ps(plan->out_re + 8 * (h - k));
    const __m256 ci = _mm256_sub_ps(_mm256_setzero_ps(), _mm256_load_ps(plan->out_im + 8 * (h - k)));
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256 even_re = _mm256_mul_ps(half, _mm256_add_ps(zr, cr));
    const __m256 even_im = _mm256_mul_ps(half, _mm256_add_ps(zi, ci));
    const __m256 odd_re = _mm256_mul_ps(half, _mm256_sub_ps(zi, ci));
    const __m256 odd_im = _mm256_mul_ps(_mm256_set1_ps(-0.5f), _mm256_sub_ps(zr, cr));
    const __m256 wr = _mm256_set1_ps(plan->split_cos[k]), wi = _mm256_set1_ps(plan->split_sin[k]);
    const __m256 xr = _mm256_add_ps(even_re, _mm256_fmsub_ps(wr, odd_re, _mm256_mul_ps(wi, odd_im)));
    const __m256 xi = _mm256_add_ps(even_im, _mm256_fmadd_ps(wr, odd_im, _mm256_mul_ps(wi, odd_re)));
    return _mm256_sqrt_ps(_mm256_fmadd_ps(xr, xr, _mm256_mul_ps(xi, xi)));
}

/// Row r of `bank` over the squared magnitudes in `staging` (bins × 8 lanes):
/// one vector of eight frames per row, stored to `out[r · stride + lane]`.
SER_AVX2 static void apply_banded_bank(const float *staging, int count, const ser_banded_bank *bank,
                                       float *out, size_t stride) {
    for (int r = 0; r < bank->rows; r++) {
        const float *weights = bank->weights + bank->offsets[r];
        const float *bins = staging + 8 * (size_t)bank->starts[r];
        const int length = bank->lengths[r];
        // Two chains, so consecutive FMAs do not wait on each other.
        __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();
        int k = 0;
        for (; k + 2 <= length; k += 2) {
            const __m256 a = _mm256_load_ps(bins + 8 * k), b = _mm256_load_ps(bins + 8 * (k + 1));
            even = _mm256_fmadd_ps(_mm256_set1_ps(weights[k]), _mm256_mul_ps(a, a), even);
            odd = _mm256_fmadd_ps(_mm256_set1_ps(weights[k + 1]), _mm256_mul_ps(b, b), odd);
        }
        if (k < length) {
            const __m256 a = _mm256_load_ps(bins + 8 * k);
            even = _mm256_fmadd_ps(_mm256_set1_ps(weights[k]), _mm256_mul_ps(a, a), even);
        }
        const __m256 sum = _mm256_add_ps(even, odd);
        float *row = out + stride * (size_t)r;
        if (count == 8) {
            _mm256_storeu_ps(row, sum);
        } else {
            float lanes[8];
            _mm256_storeu_ps(lanes, sum);
            for (int i = 0; i < count; i++) row[i] = lanes[i];
        }
    }
}

SER_AVX2 static void stft_magnitudes_avx2(ser_stft_plan *plan, const float *const *frames, int count, const float *window,
                                          float *magnitudes, size_t row_stride, float *maxima,
                                          const ser_banded_bank *bank, float *bank_out, size_t bank_stride) {
    pack_frames(plan, frames, count, window);
    complex_fft(plan);
    const int h = plan->half, bins = h + 1;
    float *staging = plan->staging;
    // Bins 0 and h are real: the sum and difference of Z[0]'s parts.
    const __m256 z0r = _mm256_load_ps(plan->out_re), z0i = _mm256_load_ps(plan->out_im);
    const __m256 sum = _mm256_add_ps(z0r, z0i), difference = _mm256_sub_ps(z0r, z0i);
    __m256 first = _mm256_sqrt_ps(_mm256_mul_ps(sum, sum));
    __m256 last = _mm256_sqrt_ps(_mm256_mul_ps(difference, difference));
    _mm256_store_ps(staging, first);
    _mm256_store_ps(staging + 8 * h, last);
    __m256 largest = _mm256_max_ps(first, last);
    for (int k = 1; k < h; k++) {
        const __m256 magnitude = split_magnitude(plan, k);
        _mm256_store_ps(staging + 8 * k, magnitude);
        largest = _mm256_max_ps(largest, magnitude);
    }
    if (bank && bank_out) apply_banded_bank(staging, count, bank, bank_out, bank_stride);
    // Back to one row per frame, eight bins at a time.
    int k = 0;
    for (; k + 8 <= bins; k += 8) {
        __m256 rows[8];
        for (int j = 0; j < 8; j++) rows[j] = _mm256_load_ps(staging + 8 * (k + j));
        transpose8(rows);
        for (int i = 0; i < count; i++) _mm256_storeu_ps(magnitudes + row_stride * (size_t)i + k, rows[i]);
    }
    for (; k < bins; k++) {
        for (int i = 0; i < count; i++) magnitudes[row_stride * (size_t)i + k] = staging[8 * k + i];
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, largest);
    for (int i = 0; i < count; i++) maxima[i] = lanes[i];
}

#endif

void ser_stft_magnitudes(ser_stft_plan *plan, const float *const *frames, int count, const float *window,
                         float *magnitudes, size_t row_stride, float *maxima,
                         const ser_banded_bank *bank, float *bank_out, size_t bank_stride) {
#if SER_VECTOR_KERNELS
    if (count < 1 || count > SER_STFT_BATCH) return;
    stft_magnitudes_avx2(plan, frames, count, window, magnitudes, row_stride, maxima, bank, bank_out, bank_stride);
#else
    (void)plan; (void)frames; (void)count; (void)window; (void)magnitudes; (void)row_stride; (void)maxima;
    (void)bank; (void)bank_out; (void)bank_stride;
#endif
}
