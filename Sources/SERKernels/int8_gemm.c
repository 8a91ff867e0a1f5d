// Dense layers `y = x · Wᵀ + b` in 8-bit integers, for the speech encoder's fixed weights.
//
// Weights are quantized once, per output channel and symmetrically, to 7 bits
// (−63…63, scale max|W[o]| / 63); activations per call, per row, to 8 bits
// (q = round(x / s) in −127…127 with s = max|x[r]| / 127) and stored offset by 128 as
// unsigned bytes (1…255), since the x86 byte products multiply an unsigned byte by a
// signed one. The offset is removed with each channel's weight sum:
//   Σ_k (q_x + 128) q_w = Σ_k q_x q_w + 128 Σ_k q_w.
// Seven-bit weights keep AVX2's `vpmaddubsw`, which adds two byte products into a
// saturating int16, exact: 2 × 255 × 63 < 32767. The integer sums are exact on every
// path (portable C, AVX2, AVX-512 VNNI), so all paths give the same bits.
//
// Packed weights: panels of 16 outputs, inputs in groups of 4 (zero-padded), each
// group holding 16 outputs × 4 bytes: `panel[g][j][t] = Wq[16p + j][4g + t]`. One
// 64-byte line feeds one VNNI `vpdpbusd` (or two AVX2 `vpmaddubsw`) against the
// 4 bytes of one activation row broadcast to every lane.
#include "SERKernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SER_INT8_X86 1
#define SER_AVX2_TARGET __attribute__((target("avx2,fma")))
#define SER_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#endif

#define I8_PANEL 16
#define I8_GROUP 4
#define WEIGHT_LEVELS 63.0f
#define ACTIVATION_LEVELS 127.0f

int ser_int8_kernel(void) {
#if SER_INT8_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) return SER_INT8_VNNI;
    if (__builtin_cpu_supports("avx2")) return SER_INT8_AVX2;
#endif
    return SER_INT8_PORTABLE;
}

int ser_int8_padded_inputs(int inputs) { return inputs <= 0 ? 0 : (inputs + I8_GROUP - 1) / I8_GROUP * I8_GROUP; }

int ser_int8_panels(int outputs) { return outputs <= 0 ? 0 : (outputs + I8_PANEL - 1) / I8_PANEL; }

size_t ser_int8_weights_size(int outputs, int inputs) {
    if (outputs <= 0 || inputs <= 0) return 0;
    return (size_t)ser_int8_panels(outputs) * I8_PANEL * (size_t)ser_int8_padded_inputs(inputs);
}

void ser_int8_pack_weights(const float *weights, int outputs, int inputs, int8_t *packed, float *scales, int32_t *sums) {
    int padded = ser_int8_padded_inputs(inputs), panels = ser_int8_panels(outputs);
    memset(packed, 0, ser_int8_weights_size(outputs, inputs));
    for (int o = 0; o < outputs; o++) {
        const float *row = weights + (size_t)o * inputs;
        float peak = 0.0f;
        for (int k = 0; k < inputs; k++) peak = fmaxf(peak, fabsf(row[k]));
        float scale = peak > 0.0f ? peak / WEIGHT_LEVELS : 1.0f;
        scales[o] = peak > 0.0f ? scale : 0.0f;
        int32_t sum = 0;
        int p = o / I8_PANEL, j = o % I8_PANEL;
        int8_t *panel = packed + (size_t)p * I8_PANEL * padded;
        for (int k = 0; k < inputs; k++) {
            float level = nearbyintf(row[k] / scale);
            if (level > WEIGHT_LEVELS) level = WEIGHT_LEVELS;
            if (level < -WEIGHT_LEVELS) level = -WEIGHT_LEVELS;
            int8_t q = (int8_t)level;
            panel[(size_t)(k / I8_GROUP) * I8_PANEL * I8_GROUP + (size_t)j * I8_GROUP + k % I8_GROUP] = q;
            sum += q;
        }
        sums[o] = sum;
    }
    (void)panels;
}

void ser_int8_quantize_rows(const float *x, int rows, int inputs, int row_stride, uint8_t *quantized, float *scales) {
    int padded = ser_int8_padded_inputs(inputs);
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * row_stride;
        uint8_t *out = quantized + (size_t)r * padded;
        float peak = 0.0f;
        for (int k = 0; k < inputs; k++) peak = fmaxf(peak, fabsf(row[k]));
        float inverse = peak > 0.0f ? ACTIVATION_LEVELS / peak : 0.0f;
        scales[r] = peak / ACTIVATION_LEVELS;
        for (int k = 0; k < inputs; k++) {
            float level = nearbyintf(row[k] * inverse);
            if (level > ACTIVATION_LEVELS) level = ACTIVATION_LEVELS;
            if (level < -ACTIVATION_LEVELS) level = -ACTIVATION_LEVELS;
            out[k] = (uint8_t)((int)level + 128);
        }
        for (int k = inputs; k < padded; k++) out[k] = 128;
    }
}

// Writes one row's 16 (or fewer) outputs of panel `p` from its int32 sums. Not inlined,
// so that it is compiled once, without the vector kernels' FMA contraction: every path
// then rounds the same way.
__attribute__((noinline)) static void finish(const int32_t *acc, int count, float row_scale, const float *w_scales, const int32_t *sums,
                          const float *bias, float *out, int accumulate) {
    for (int j = 0; j < count; j++) {
        float value = row_scale * w_scales[j] * (float)(acc[j] - 128 * sums[j]) + (bias ? bias[j] : 0.0f);
        out[j] = accumulate ? out[j] + value : value;
    }
}

static void gemm_portable(const uint8_t *xq, const float *x_scales, int rows, int padded, const int8_t *packed,
                          const float *w_scales, const int32_t *sums, const float *bias, int outputs,
                          int panel_begin, int panel_end, float *out, int out_stride, int accumulate) {
    for (int p = panel_begin; p < panel_end; p++) {
        const int8_t *panel = packed + (size_t)p * I8_PANEL * padded;
        int count = outputs - p * I8_PANEL < I8_PANEL ? outputs - p * I8_PANEL : I8_PANEL;
        for (int r = 0; r < rows; r++) {
            int32_t acc[I8_PANEL] = {0};
            const uint8_t *a = xq + (size_t)r * padded;
            for (int g = 0; g < padded / I8_GROUP; g++) {
                const int8_t *line = panel + (size_t)g * I8_PANEL * I8_GROUP;
                for (int j = 0; j < I8_PANEL; j++)
                    for (int t = 0; t < I8_GROUP; t++) acc[j] += (int32_t)a[g * I8_GROUP + t] * line[j * I8_GROUP + t];
            }
            finish(acc, count, x_scales[r], w_scales + p * I8_PANEL, sums + p * I8_PANEL, bias ? bias + p * I8_PANEL : NULL,
                   out + (size_t)r * out_stride + p * I8_PANEL, accumulate);
        }
    }
}

#if SER_INT8_X86
#define AVX2_ROWS 4
// AVX2: 4 rows × 16 outputs per tile; per group of 4 inputs, two weight loads, four
// broadcasts, and `vpmaddubsw` + `vpmaddwd` (by ones) per accumulator.
SER_AVX2_TARGET static void gemm_avx2(const uint8_t *xq, const float *x_scales, int rows, int padded, const int8_t *packed,
                                      const float *w_scales, const int32_t *sums, const float *bias, int outputs,
                                      int panel_begin, int panel_end, float *out, int out_stride, int accumulate) {
    const __m256i ones = _mm256_set1_epi16(1);
    int groups = padded / I8_GROUP;
    for (int p = panel_begin; p < panel_end; p++) {
        const int8_t *panel = packed + (size_t)p * I8_PANEL * padded;
        int count = outputs - p * I8_PANEL < I8_PANEL ? outputs - p * I8_PANEL : I8_PANEL;
        for (int r0 = 0; r0 < rows; r0 += AVX2_ROWS) {
            int valid = rows - r0 < AVX2_ROWS ? rows - r0 : AVX2_ROWS;
            __m256i acc[AVX2_ROWS][2];
            for (int i = 0; i < AVX2_ROWS; i++) { acc[i][0] = _mm256_setzero_si256(); acc[i][1] = _mm256_setzero_si256(); }
            const uint8_t *a[AVX2_ROWS];
            for (int i = 0; i < AVX2_ROWS; i++) a[i] = xq + (size_t)(r0 + (i < valid ? i : 0)) * padded;
            for (int g = 0; g < groups; g++) {
                const int8_t *line = panel + (size_t)g * I8_PANEL * I8_GROUP;
                __m256i w0 = _mm256_loadu_si256((const __m256i *)line);
                __m256i w1 = _mm256_loadu_si256((const __m256i *)(line + 32));
                for (int i = 0; i < AVX2_ROWS; i++) {
                    int32_t word;
                    memcpy(&word, a[i] + g * I8_GROUP, 4);
                    __m256i v = _mm256_set1_epi32(word);
                    acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(_mm256_maddubs_epi16(v, w0), ones));
                    acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(_mm256_maddubs_epi16(v, w1), ones));
                }
            }
            for (int i = 0; i < valid; i++) {
                int32_t sums_row[I8_PANEL];
                _mm256_storeu_si256((__m256i *)sums_row, acc[i][0]);
                _mm256_storeu_si256((__m256i *)(sums_row + 8), acc[i][1]);
                finish(sums_row, count, x_scales[r0 + i], w_scales + p * I8_PANEL, sums + p * I8_PANEL,
                       bias ? bias + p * I8_PANEL : NULL, out + (size_t)(r0 + i) * out_stride + p * I8_PANEL, accumulate);
            }
        }
    }
}

#define VNNI_ROWS 8
// AVX-512 VNNI: 8 rows × 32 outputs (two panels) per tile; per group of 4 inputs,
// two weight loads, eight broadcasts and sixteen `vpdpbusd`.
SER_VNNI_TARGET static void gemm_vnni(const uint8_t *xq, const float *x_scales, int rows, int padded, const int8_t *packed,
                                      const float *w_scales, const int32_t *sums, const float *bias, int outputs,
                                      int panel_begin, int panel_end, float *out, int out_stride, int accumulate) {
    int groups = padded / I8_GROUP;
    for (int p = panel_begin; p < panel_end; p += 2) {
        int pair = p + 1 < panel_end ? 2 : 1;
        const int8_t *panel0 = packed + (size_t)p * I8_PANEL * padded;
        const int8_t *panel1 = pair == 2 ? panel0 + (size_t)I8_PANEL * padded : panel0;
        for (int r0 = 0; r0 < rows; r0 += VNNI_ROWS) {
            int valid = rows - r0 < VNNI_ROWS ? rows - r0 : VNNI_ROWS;
            __m512i acc[VNNI_ROWS][2];
            for (int i = 0; i < VNNI_ROWS; i++) { acc[i][0] = _mm512_setzero_si512(); acc[i][1] = _mm512_setzero_si512(); }
            const uint8_t *a[VNNI_ROWS];
            for (int i = 0; i < VNNI_ROWS; i++) a[i] = xq + (size_t)(r0 + (i < valid ? i : 0)) * padded;
            for (int g = 0; g < groups; g++) {
                __m512i w0 = _mm512_loadu_si512((const void *)(panel0 + (size_t)g * I8_PANEL * I8_GROUP));
                __m512i w1 = _mm512_loadu_si512((const void *)(panel1 + (size_t)g * I8_PANEL * I8_GROUP));
                for (int i = 0; i < VNNI_ROWS; i++) {
                    int32_t word;
                    memcpy(&word, a[i] + g * I8_GROUP, 4);
                    __m512i v = _mm512_set1_epi32(word);
                    acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], v, w0);
                    acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], v, w1);
                }
            }
            for (int i = 0; i < valid; i++) {
                for (int half = 0; half < pair; half++) {
                    int q = p + half;
                    int count = outputs - q * I8_PANEL < I8_PANEL ? outputs - q * I8_PANEL : I8_PANEL;
                    int32_t sums_row[I8_PANEL];
                    _mm512_storeu_si512((void *)sums_row, acc[i][half]);
                    finish(sums_row, count, x_scales[r0 + i], w_scales + q * I8_PANEL, sums + q * I8_PANEL,
                           bias ? bias + q * I8_PANEL : NULL, out + (size_t)(r0 + i) * out_stride + q * I8_PANEL, accumulate);
                }
            }
        }
    }
}
#endif

int ser_int8_gemm(const uint8_t *quantized_rows, const float *row_scales, int rows, int inputs,
                  const int8_t *packed_weights, const float *weight_scales, const int32_t *weight_sums,
                  const float *bias, int outputs, int panel_begin, int panel_end,
                  float *out, int out_stride, int accumulate, int kernel) {
    if (rows <= 0 || inputs <= 0 || outputs <= 0 || out_stride < outputs) return 0;
    if (kernel < 0) kernel = ser_int8_kernel();
    if (kernel > ser_int8_kernel()) return 0;
    int panels = ser_int8_panels(outputs), padded = ser_int8_padded_inputs(inputs);
    if (panel_begin < 0) panel_begin = 0;
    if (panel_end > panels) panel_end = panels;
    if (panel_begin >= panel_end) return 1;
    switch (kernel) {
#if SER_INT8_X86
    case SER_INT8_VNNI:
        gemm_vnni(quantized_rows, row_scales, rows, padded, packed_weights, weight_scales, weight_sums, bias, outputs,
                  panel_begin, panel_end, out, out_stride, accumulate);
        return 1;
    case SER_INT8_AVX2:
        gemm_avx2(quantized_rows, row_scales, rows, padded, packed_weights, weight_scales, weight_sums, bias, outputs,
                  panel_begin, panel_end, out, out_stride, accumulate);
        return 1;
#endif
    default:
        gemm_portable(quantized_rows, row_scales, rows, padded, packed_weights, weight_scales, weight_sums, bias, outputs,
                      panel_begin, panel_end, out, out_stride, accumulate);
        return 1;
    }
}
