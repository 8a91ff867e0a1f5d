// Dense layers `y = x · Wᵀ + b` in 8-bit integers, for the speech encoder's fixed weights.
//
// Weights are quantized once, symmetrically, to 7 bits (−63…63) with one scale per
// output channel and group of 64 inputs (max|W[o][group]| / 63): a group's scale
// follows its own largest weight, so the rest of the row keeps its precision.
// Activations are quantized per call and row to 8 bits (q = round(x / s) in −127…127,
// s = max|x[r]| / 127) and stored offset by 128 as unsigned bytes (1…255), since the
// x86 byte products multiply an unsigned byte by a signed one; each group's offset is
// removed with its weight sum: Σ_k (q_x + 128) q_w = Σ_k q_x q_w + 128 Σ_k q_w.
//
// Seven-bit weights keep AVX2's `vpmaddubsw`, which adds two byte products into a
// saturating int16, exact: 2 × 255 × 63 < 32767 (oneDNN asks for 7-bit weights on CPUs
// without VNNI for the same reason). A group's int32 sum, |Σ| ≤ 64 × 127 × 63 < 2²⁴, is
// exact in float; groups are combined by one fused multiply-add each, in input order.
// Every path (portable C, AVX2, AVX-512 VNNI) does the same exact integer sums and the
// same float operations in the same order, so all give the same bits on every machine.
//
// Packed weights: panels of 16 outputs; within a panel, groups of 64 inputs; within a
// group, 16 lines of 4 inputs × 16 outputs: `line[j][t] = Wq[16p + j][4·(16g + l) + t]`.
// One 64-byte line feeds one VNNI `vpdpbusd` (two AVX2 `vpmaddubsw`) against the 4 bytes
// of one activation row broadcast to every lane. Scales and offsets (128 × the group's
// weight sum) sit in their own arrays, 16 per panel and group.
#include "SERKernels.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SER_INT8_X86 1
#define SER_AVX2_TARGET __attribute__((target("avx2,fma")))
#define SER_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#endif

#define I8_PANEL 16
#define I8_QUAD 4
#define I8_GROUP 64
#define LINE_BYTES (I8_PANEL * I8_QUAD)
#define GROUP_BYTES (I8_PANEL * I8_GROUP)
#define WEIGHT_LEVELS 63.0f
#define ACTIVATION_LEVELS 127.0f

static int detected_kernel(void) {
#if SER_INT8_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw")) return SER_INT8_VNNI;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SER_INT8_AVX2;
#endif
    return SER_INT8_PORTABLE;
}

// The CPU's best kernel within `ser_max_cpu_isa`, so that a benchmark can time a lesser
// kernel on a machine that has a better one. Every kernel gives the same bits, so the
// cap changes speed only. Read once; first callers racing compute and store the same value.
int ser_int8_kernel(void) {
    static _Atomic int chosen = -1;
    int known = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (known >= 0) return known;
    int kernel = detected_kernel();
    int cap = ser_max_cpu_isa();
    if (cap < SER_ISA_AVX512 && kernel > SER_INT8_AVX2) kernel = SER_INT8_AVX2;
    if (cap < SER_ISA_AVX2) kernel = SER_INT8_PORTABLE;
    atomic_store_explicit(&chosen, kernel, memory_order_relaxed);
    return kernel;
}

int ser_int8_padded_inputs(int inputs) { return inputs <= 0 ? 0 : (inputs + I8_GROUP - 1) / I8_GROUP * I8_GROUP; }

int ser_int8_panels(int outputs) { return outputs <= 0 ? 0 : (outputs + I8_PANEL - 1) / I8_PANEL; }

size_t ser_int8_weights_size(int outputs, int inputs) {
    if (outputs <= 0 || inputs <= 0) return 0;
    return (size_t)ser_int8_panels(outputs) * I8_PANEL * (size_t)ser_int8_padded_inputs(inputs);
}

size_t ser_int8_scales_count(int outputs, int inputs) {
    if (outputs <= 0 || inputs <= 0) return 0;
    return (size_t)ser_int8_panels(outputs) * (size_t)(ser_int8_padded_inputs(inputs) / I8_GROUP) * I8_PANEL;
}

void ser_int8_pack_weights(const float *weights, int outputs, int inputs, int8_t *packed, float *scales, int32_t *offsets) {
    int padded = ser_int8_padded_inputs(inputs), groups = padded / I8_GROUP;
    memset(packed, 0, ser_int8_weights_size(outputs, inputs));
    memset(scales, 0, ser_int8_scales_count(outputs, inputs) * sizeof(float));
    memset(offsets, 0, ser_int8_scales_count(outputs, inputs) * sizeof(int32_t));
    for (int o = 0; o < outputs; o++) {
        const float *row = weights + (size_t)o * inputs;
        int p = o / I8_PANEL, j = o % I8_PANEL;
        int8_t *panel = packed + (size_t)p * I8_PANEL * padded;
        for (int g = 0; g < groups; g++) {
            int begin = g * I8_GROUP, end = begin + I8_GROUP < inputs ? begin + I8_GROUP : inputs;
            float peak = 0.0f;
            for (int k = begin; k < end; k++) peak = fmaxf(peak, fabsf(row[k]));
            size_t slot = ((size_t)p * groups + g) * I8_PANEL + j;
            if (peak == 0.0f) continue;   // scale 0, weights 0: the group adds nothing
            float scale = peak / WEIGHT_LEVELS;
            int32_t sum = 0;
            for (int k = begin; k < end; k++) {
                float level = nearbyintf(row[k] / scale);
                if (level > WEIGHT_LEVELS) level = WEIGHT_LEVELS;
                if (level < -WEIGHT_LEVELS) level = -WEIGHT_LEVELS;
                int8_t q = (int8_t)level;
                int l = (k - begin) / I8_QUAD, t = (k - begin) % I8_QUAD;
                panel[(size_t)g * GROUP_BYTES + (size_t)l * LINE_BYTES + (size_t)j * I8_QUAD + t] = q;
                sum += q;
            }
            scales[slot] = scale;
            offsets[slot] = 128 * sum;
        }
    }
}

#if SER_INT8_X86
// One row quantized with AVX2: the same peak (max is exact in any order), the same
// product by the inverse, rounding to nearest-even as `nearbyintf` does, the same clamp.
SER_AVX2_TARGET static void quantize_row_avx2(const float *row, int inputs, int padded, uint8_t *out, float *scale) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 peaks = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= inputs; k += 8) peaks = _mm256_max_ps(peaks, _mm256_andnot_ps(sign, _mm256_loadu_ps(row + k)));
    float lanes[8];
    _mm256_storeu_ps(lanes, peaks);
    float peak = 0.0f;
    for (int i = 0; i < 8; i++) peak = fmaxf(peak, lanes[i]);
    for (; k < inputs; k++) peak = fmaxf(peak, fabsf(row[k]));
    float inverse = peak > 0.0f ? ACTIVATION_LEVELS / peak : 0.0f;
    *scale = peak / ACTIVATION_LEVELS;
    const __m256 factor = _mm256_set1_ps(inverse), high = _mm256_set1_ps(ACTIVATION_LEVELS), low = _mm256_set1_ps(-ACTIVATION_LEVELS);
    const __m256i offset = _mm256_set1_epi32(128);
    k = 0;
    for (; k + 8 <= inputs; k += 8) {
        __m256 level = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(row + k), factor), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        level = _mm256_min_ps(_mm256_max_ps(level, low), high);
        __m256i bytes = _mm256_add_epi32(_mm256_cvtps_epi32(level), offset);   // 1…255
        // Narrow eight int32 to eight bytes.
        __m128i halves = _mm_packus_epi32(_mm256_castsi256_si128(bytes), _mm256_extracti128_si256(bytes, 1));
        __m128i packed = _mm_packus_epi16(halves, halves);
        _mm_storel_epi64((__m128i *)(out + k), packed);
    }
    for (; k < inputs; k++) {
        float level = nearbyintf(row[k] * inverse);
        if (level > ACTIVATION_LEVELS) level = ACTIVATION_LEVELS;
        if (level < -ACTIVATION_LEVELS) level = -ACTIVATION_LEVELS;
        out[k] = (uint8_t)((int)level + 128);
    }
    for (; k < padded; k++) out[k] = 128;
}
#endif

void ser_int8_quantize_rows(const float *x, int rows, int inputs, int row_stride, uint8_t *quantized, float *scales) {
    int padded = ser_int8_padded_inputs(inputs);
#if SER_INT8_X86
    if (ser_int8_kernel() >= SER_INT8_AVX2) {
        for (int r = 0; r < rows; r++) quantize_row_avx2(x + (size_t)r * row_stride, inputs, padded, quantized + (size_t)r * padded, scales + r);
        return;
    }
#endif
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

// Writes one row's 16 (or fewer) outputs of a panel from its accumulated group sums.
// Not inlined, so that it is compiled once, without the vector kernels' FMA
// contraction: every path then rounds the same way.
__attribute__((noinline)) static void finish(const float *acc, int count, float row_scale, const float *bias,
                                             float *out, int accumulate) {
    for (int j = 0; j < count; j++) {
        float product = row_scale * acc[j];
        float value = product + (bias ? bias[j] : 0.0f);
        out[j] = accumulate ? out[j] + value : value;
    }
}

// Outputs panel `p` holds: 16, or fewer in the last panel.
static inline int panel_columns(int outputs, int p) {
    return outputs - p * I8_PANEL < I8_PANEL ? outputs - p * I8_PANEL : I8_PANEL;
}

static void gemm_portable(const uint8_t *xq, const float *x_scales, int rows, int padded, const int8_t *packed,
                          const float *w_scales, const int32_t *offsets, const float *bias, int outputs,
                          int panel_begin, int panel_end, float *out, int out_stride, int accumulate) {
    int groups = padded / I8_GROUP;
    for (int p = panel_begin; p < panel_end; p++) {
        const int8_t *panel = packed + (size_t)p * I8_PANEL * padded;
        int count = panel_columns(outputs, p);
        for (int r = 0; r < rows; r++) {
            float acc[I8_PANEL] = {0};
            const uint8_t *a = xq + (size_t)r * padded;
            for (int g = 0; g < groups; g++) {
                int32_t sums[I8_PANEL] = {0};
                const int8_t *group = panel + (size_t)g * GROUP_BYTES;
                for (int l = 0; l < I8_GROUP / I8_QUAD; l++) {
                    const int8_t *line = group + (size_t)l * LINE_BYTES;
                    const uint8_t *quad = a + g * I8_GROUP + l * I8_QUAD;
                    for (int j = 0; j < I8_PANEL; j++)
                        for (int t = 0; t < I8_QUAD; t++) sums[j] += (int32_t)quad[t] * line[j * I8_QUAD + t];
                }
                size_t slot = ((size_t)p * groups + g) * I8_PANEL;
                for (int j = 0; j < I8_PANEL; j++) acc[j] = fmaf((float)(sums[j] - offsets[slot + j]), w_scales[slot + j], acc[j]);
            }
            finish(acc, count, x_scales[r], bias ? bias + p * I8_PANEL : NULL, out + (size_t)r * out_stride + p * I8_PANEL, accumulate);
        }
    }
}

#if SER_INT8_X86
#define AVX2_ROWS 3
// AVX2: 3 rows × 16 outputs per tile. Per line of 4 inputs: two weight loads, three
// broadcasts, and `vpmaddubsw` + `vpmaddwd` (by ones) + add per accumulator; per group,
// the offset removed, the sums converted and fused into float accumulators.
SER_AVX2_TARGET static void gemm_avx2(const uint8_t *xq, const float *x_scales, int rows, int padded, const int8_t *packed,
                                      const float *w_scales, const int32_t *offsets, const float *bias, int outputs,
                                      int panel_begin, int panel_end, float *out, int out_stride, int accumulate) {
    const __m256i ones = _mm256_set1_epi16(1);
    int groups = padded / I8_GROUP;
    for (int p = panel_begin; p < panel_end; p++) {
        const int8_t *panel = packed + (size_t)p * I8_PANEL * padded;
        int count = panel_columns(outputs, p);
        for (int r0 = 0; r0 < rows; r0 += AVX2_ROWS) {
            int valid = rows - r0 < AVX2_ROWS ? rows - r0 : AVX2_ROWS;
            __m256 acc[AVX2_ROWS][2];
            for (int i = 0; i < AVX2_ROWS; i++) { acc[i][0] = _mm256_setzero_ps(); acc[i][1] = _mm256_setzero_ps(); }
            const uint8_t *a[AVX2_ROWS];
            for (int i = 0; i < AVX2_ROWS; i++) a[i] = xq + (size_t)(r0 + (i < valid ? i : 0)) * padded;
            for (int g = 0; g < groups; g++) {
                __m256i sums[AVX2_ROWS][2];
                for (int i = 0; i < AVX2_ROWS; i++) { sums[i][0] = _mm256_setzero_si256(); sums[i][1] = _mm256_setzero_si256(); }
                const int8_t *group = panel + (size_t)g * GROUP_BYTES;
                for (int l = 0; l < I8_GROUP / I8_QUAD; l++) {
                    __m256i w0 = _mm256_loadu_si256((const __m256i *)(group + (size_t)l * LINE_BYTES));
                    __m256i w1 = _mm256_loadu_si256((const __m256i *)(group + (size_t)l * LINE_BYTES + 32));
                    for (int i = 0; i < AVX2_ROWS; i++) {
                        int32_t word;
                        memcpy(&word, a[i] + g * I8_GROUP + l * I8_QUAD, 4);
                        __m256i v = _mm256_set1_epi32(word);
                        sums[i][0] = _mm256_add_epi32(sums[i][0], _mm256_madd_epi16(_mm256_maddubs_epi16(v, w0), ones));
                        sums[i][1] = _mm256_add_epi32(sums[i][1], _mm256_madd_epi16(_mm256_maddubs_epi16(v, w1), ones));
                    }
                }
                size_t slot = ((size_t)p * groups + g) * I8_PANEL;
                __m256 s0 = _mm256_loadu_ps(w_scales + slot), s1 = _mm256_loadu_ps(w_scales + slot + 8);
                __m256i o0 = _mm256_loadu_si256((const __m256i *)(offsets + slot));
                __m256i o1 = _mm256_loadu_si256((const __m256i *)(offsets + slot + 8));
                for (int i = 0; i < AVX2_ROWS; i++) {
                    acc[i][0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(sums[i][0], o0)), s0, acc[i][0]);
                    acc[i][1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(sums[i][1], o1)), s1, acc[i][1]);
                }
            }
            for (int i = 0; i < valid; i++) {
                float *target = out + (size_t)(r0 + i) * out_stride + p * I8_PANEL;
                if (count < I8_PANEL) {
                    float row[I8_PANEL];
                    _mm256_storeu_ps(row, acc[i][0]);
                    _mm256_storeu_ps(row + 8, acc[i][1]);
                    finish(row, count, x_scales[r0 + i], bias ? bias + p * I8_PANEL : NULL, target, accumulate);
                    continue;
                }
                // finish's arithmetic, eight lanes at a time: a product, then a sum, each rounded once.
                __m256 scale = _mm256_set1_ps(x_scales[r0 + i]);
                for (int h = 0; h < 2; h++) {
                    __m256 value = _mm256_mul_ps(scale, acc[i][h]);
                    if (bias) value = _mm256_add_ps(value, _mm256_loadu_ps(bias + p * I8_PANEL + 8 * h));
                    else value = _mm256_add_ps(value, _mm256_setzero_ps());
                    if (accumulate) value = _mm256_add_ps(_mm256_loadu_ps(target + 8 * h), value);
                    _mm256_storeu_ps(target + 8 * h, value);
                }
            }
        }
    }
}

#define VNNI_ROWS 12
// AVX-512 VNNI: 12 rows × 16 outputs per tile. Per line of 4 inputs: one weight load,
// twelve broadcasts and twelve `vpdpbusd`; per group, the offset removed, the sums
// converted and fused into float accumulators.
SER_VNNI_TARGET static void gemm_vnni(const uint8_t *xq, const float *x_scales, int rows, int padded, const int8_t *packed,
                                      const float *w_scales, const int32_t *offsets, const float *bias, int outputs,
                                      int panel_begin, int panel_end, float *out, int out_stride, int accumulate) {
    int groups = padded / I8_GROUP;
    for (int p = panel_begin; p < panel_end; p++) {
        const int8_t *panel = packed + (size_t)p * I8_PANEL * padded;
        int count = panel_columns(outputs, p);
        for (int r0 = 0; r0 < rows; r0 += VNNI_ROWS) {
            int valid = rows - r0 < VNNI_ROWS ? rows - r0 : VNNI_ROWS;
            __m512 acc[VNNI_ROWS];
            for (int i = 0; i < VNNI_ROWS; i++) acc[i] = _mm512_setzero_ps();
            const uint8_t *a[VNNI_ROWS];
            for (int i = 0; i < VNNI_ROWS; i++) a[i] = xq + (size_t)(r0 + (i < valid ? i : 0)) * padded;
            for (int g = 0; g < groups; g++) {
                __m512i sums[VNNI_ROWS];
                for (int i = 0; i < VNNI_ROWS; i++) sums[i] = _mm512_setzero_si512();
                const int8_t *group = panel + (size_t)g * GROUP_BYTES;
                for (int l = 0; l < I8_GROUP / I8_QUAD; l++) {
                    __m512i w = _mm512_loadu_si512((const void *)(group + (size_t)l * LINE_BYTES));
                    for (int i = 0; i < VNNI_ROWS; i++) {
                        int32_t word;
                        memcpy(&word, a[i] + g * I8_GROUP + l * I8_QUAD, 4);
                        sums[i] = _mm512_dpbusd_epi32(sums[i], _mm512_set1_epi32(word), w);
                    }
                }
                size_t slot = ((size_t)p * groups + g) * I8_PANEL;
                __m512 scale = _mm512_loadu_ps(w_scales + slot);
                __m512i offset = _mm512_loadu_si512((const void *)(offsets + slot));
                for (int i = 0; i < VNNI_ROWS; i++)
                    acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(sums[i], offset)), scale, acc[i]);
            }
            for (int i = 0; i < valid; i++) {
                float *target = out + (size_t)(r0 + i) * out_stride + p * I8_PANEL;
                if (count < I8_PANEL) {
                    float row[I8_PANEL];
                    _mm512_storeu_ps(row, acc[i]);
                    finish(row, count, x_scales[r0 + i], bias ? bias + p * I8_PANEL : NULL, target, accumulate);
                    continue;
                }
                // finish's arithmetic, sixteen lanes at a time: a product, then a sum, each rounded once.
                __m512 value = _mm512_mul_ps(_mm512_set1_ps(x_scales[r0 + i]), acc[i]);
                value = _mm512_add_ps(value, bias ? _mm512_loadu_ps(bias + p * I8_PANEL) : _mm512_setzero_ps());
                if (accumulate) value = _mm512_add_ps(_mm512_loadu_ps(target), value);
                _mm512_storeu_ps(target, value);
            }
        }
    }
}
#endif

int ser_int8_gemm(const uint8_t *quantized_rows, const float *row_scales, int rows, int inputs,
                  const int8_t *packed_weights, const float *weight_scales, const int32_t *weight_offsets,
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
        gemm_vnni(quantized_rows, row_scales, rows, padded, packed_weights, weight_scales, weight_offsets, bias, outputs,
                  panel_begin, panel_end, out, out_stride, accumulate);
        return 1;
    case SER_INT8_AVX2:
        gemm_avx2(quantized_rows, row_scales, rows, padded, packed_weights, weight_scales, weight_offsets, bias, outputs,
                  panel_begin, panel_end, out, out_stride, accumulate);
        return 1;
#endif
    default:
        gemm_portable(quantized_rows, row_scales, rows, padded, packed_weights, weight_scales, weight_offsets, bias, outputs,
                      panel_begin, panel_end, out, out_stride, accumulate);
        return 1;
    }
}
