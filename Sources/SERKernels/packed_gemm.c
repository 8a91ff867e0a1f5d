// Dense layers `y = x · Wᵀ + b` with AVX-512 or AVX2, for the speech encoder's fixed weights.
//
// A general sgemm repacks both operands on every call. An encoder's weights never
// change, so they are packed once, at load time, into panels of 32 outputs laid out
// input by input (`panel[k][j] = W[32p + j][k]`): the micro-kernel then reads each
// panel as one contiguous stream. The activations are packed per call into blocks of
// 12 rows, also input by input (`block[k][i] = x[12b + i][k]`, zero rows past the end).
//
// The micro-kernel keeps a 12 × 32 tile of the output in 24 zmm registers and runs
// the whole reduction over k in registers: per k, two panel loads and twelve
// broadcasts feed 24 fused multiply-adds. Panels are the outer loop (a panel of
// K = 2048 inputs is 256 KiB and stays in L2 while every row block passes it), so
// callers split the panel range between threads.
//
// AVX2 has 16 registers of 8 floats, so its micro-kernel covers the same tile as four
// 6 × 16 quarters, 12 ymm accumulators each. Every output is the same chain of fused
// multiply-adds in input order on both, then the same additions of bias and prior
// output, so both kernels give the same bits.
#include "SERKernels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SER_PACKED_KERNELS 1
#define SER_AVX512 __attribute__((target("avx512f")))
#define SER_AVX2_FMA __attribute__((target("avx2,fma")))
#endif

#define PANEL 32
#define BLOCK 12
// Inputs per pass over a panel: 256 × 32 floats (32 KiB) of weights stay in L1 while the row blocks pass.
#define DEPTH 256

int ser_packed_kernel(void) {
#if SER_PACKED_KERNELS
    __builtin_cpu_init();
    int cap = ser_max_cpu_isa();
    if (cap >= SER_ISA_AVX512 && __builtin_cpu_supports("avx512f")) return SER_ISA_AVX512;
    if (cap >= SER_ISA_AVX2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return SER_ISA_AVX2;
#endif
    return SER_ISA_PORTABLE;
}

int ser_packed_gemm_available(void) { return ser_packed_kernel() > SER_ISA_PORTABLE; }

size_t ser_packed_weights_count(int outputs, int inputs) {
    if (outputs <= 0 || inputs <= 0) return 0;
    return (size_t)((outputs + PANEL - 1) / PANEL) * PANEL * (size_t)inputs;
}

int ser_packed_panels(int outputs) { return outputs <= 0 ? 0 : (outputs + PANEL - 1) / PANEL; }

size_t ser_packed_rows_count(int rows, int inputs) {
    if (rows <= 0 || inputs <= 0) return 0;
    return (size_t)((rows + BLOCK - 1) / BLOCK) * BLOCK * (size_t)inputs;
}

void ser_pack_weights(const float *weights, int outputs, int inputs, float *packed) {
    ser_pack_weights_strided(weights, outputs, inputs, inputs, 1, packed);
}

void ser_pack_weights_strided(const float *weights, int outputs, int inputs, int output_stride, int input_stride,
                              float *packed) {
    int panels = ser_packed_panels(outputs);
    for (int p = 0; p < panels; p++) {
        float *panel = packed + (size_t)p * PANEL * inputs;
        int columns = outputs - p * PANEL < PANEL ? outputs - p * PANEL : PANEL;
        for (int k = 0; k < inputs; k++) {
            float *line = panel + (size_t)k * PANEL;
            const float *source = weights + (size_t)k * input_stride + (size_t)p * PANEL * output_stride;
            int j = 0;
            for (; j < columns; j++) line[j] = source[(size_t)j * output_stride];
            for (; j < PANEL; j++) line[j] = 0.0f;
        }
    }
}

void ser_pack_rows(const float *x, int rows, int inputs, int row_stride, float *packed) {
    int blocks = (rows + BLOCK - 1) / BLOCK;
    for (int b = 0; b < blocks; b++) {
        float *block = packed + (size_t)b * BLOCK * inputs;
        for (int i = 0; i < BLOCK; i++) {
            int r = b * BLOCK + i;
            if (r < rows) {
                const float *row = x + (size_t)r * row_stride;
                for (int k = 0; k < inputs; k++) block[(size_t)k * BLOCK + i] = row[k];
            } else {
                for (int k = 0; k < inputs; k++) block[(size_t)k * BLOCK + i] = 0.0f;
            }
        }
    }
}

#if SER_PACKED_KERNELS
// One 12 × 32 tile: rows `valid_rows` (≤ 12) and columns under `mask_low`/`mask_high` are stored.
SER_AVX512 static void tile(const float *block, const float *panel, int inputs, const float *bias,
                            float *out, int out_stride, int valid_rows, int accumulate,
                            __mmask16 mask_low, __mmask16 mask_high) {
    __m512 acc[BLOCK][2];
    for (int i = 0; i < BLOCK; i++) { acc[i][0] = _mm512_setzero_ps(); acc[i][1] = _mm512_setzero_ps(); }
    for (int k = 0; k < inputs; k++) {
        __m512 w0 = _mm512_loadu_ps(panel + (size_t)k * PANEL);
        __m512 w1 = _mm512_loadu_ps(panel + (size_t)k * PANEL + 16);
        const float *a = block + (size_t)k * BLOCK;
        for (int i = 0; i < BLOCK; i++) {
            __m512 v = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(v, w0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(v, w1, acc[i][1]);
        }
    }
    __m512 b0 = bias ? _mm512_maskz_loadu_ps(mask_low, bias) : _mm512_setzero_ps();
    __m512 b1 = bias ? _mm512_maskz_loadu_ps(mask_high, bias + 16) : _mm512_setzero_ps();
    for (int i = 0; i < valid_rows; i++) {
        float *row = out + (size_t)i * out_stride;
        __m512 y0 = _mm512_add_ps(acc[i][0], b0), y1 = _mm512_add_ps(acc[i][1], b1);
        if (accumulate) {
            y0 = _mm512_add_ps(y0, _mm512_maskz_loadu_ps(mask_low, row));
            y1 = _mm512_add_ps(y1, _mm512_maskz_loadu_ps(mask_high, row + 16));
        }
        _mm512_mask_storeu_ps(row, mask_low, y0);
        _mm512_mask_storeu_ps(row + 16, mask_high, y1);
    }
}

#define QUARTER_ROWS 6
#define QUARTER_COLUMNS 16
// One 6 × 16 quarter of a tile with AVX2: `rows` (≤ 6) rows and `columns` (≤ 16) columns are stored.
// `block` points at the quarter's first row within a 12-row block, `panel` at its first column.
SER_AVX2_FMA static void quarter_avx2(const float *block, const float *panel, int inputs, const float *bias,
                                      float *out, int out_stride, int rows, int columns, int accumulate) {
    __m256 acc[QUARTER_ROWS][2];
    for (int i = 0; i < QUARTER_ROWS; i++) { acc[i][0] = _mm256_setzero_ps(); acc[i][1] = _mm256_setzero_ps(); }
    for (int k = 0; k < inputs; k++) {
        __m256 w0 = _mm256_loadu_ps(panel + (size_t)k * PANEL);
        __m256 w1 = _mm256_loadu_ps(panel + (size_t)k * PANEL + 8);
        const float *a = block + (size_t)k * BLOCK;
        for (int i = 0; i < QUARTER_ROWS; i++) {
            __m256 v = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(v, w0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(v, w1, acc[i][1]);
        }
    }
    float b[QUARTER_COLUMNS] = {0};
    if (bias) for (int j = 0; j < columns; j++) b[j] = bias[j];
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    for (int i = 0; i < rows; i++) {
        float *row = out + (size_t)i * out_stride;
        __m256 y0 = _mm256_add_ps(acc[i][0], b0), y1 = _mm256_add_ps(acc[i][1], b1);
        if (columns == QUARTER_COLUMNS) {
            if (accumulate) {
                y0 = _mm256_add_ps(y0, _mm256_loadu_ps(row));
                y1 = _mm256_add_ps(y1, _mm256_loadu_ps(row + 8));
            }
            _mm256_storeu_ps(row, y0);
            _mm256_storeu_ps(row + 8, y1);
            continue;
        }
        // A partial quarter goes through a full-width line, so that no lane past `columns` is read or written.
        float line[QUARTER_COLUMNS] = {0};
        if (accumulate) {
            for (int j = 0; j < columns; j++) line[j] = row[j];
            y0 = _mm256_add_ps(y0, _mm256_loadu_ps(line));
            y1 = _mm256_add_ps(y1, _mm256_loadu_ps(line + 8));
        }
        _mm256_storeu_ps(line, y0);
        _mm256_storeu_ps(line + 8, y1);
        for (int j = 0; j < columns; j++) row[j] = line[j];
    }
}

// The AVX2 kernel's equivalent of `tile`: the 12 × 32 tile as up to four quarters.
SER_AVX2_FMA static void tile_avx2(const float *block, const float *panel, int inputs, const float *bias,
                                   float *out, int out_stride, int valid_rows, int accumulate, int columns) {
    for (int r = 0; r < BLOCK && r < valid_rows; r += QUARTER_ROWS) {
        int rows = valid_rows - r < QUARTER_ROWS ? valid_rows - r : QUARTER_ROWS;
        for (int c = 0; c < PANEL && c < columns; c += QUARTER_COLUMNS) {
            int width = columns - c < QUARTER_COLUMNS ? columns - c : QUARTER_COLUMNS;
            quarter_avx2(block + r, panel + c, inputs, bias ? bias + c : NULL, out + (size_t)r * out_stride + c, out_stride,
                         rows, width, accumulate);
        }
    }
}

static void gemm_panels(int kernel, const float *packed_rows, int rows, int inputs, const float *packed_weights,
                        const float *bias, int outputs, int panel_begin, int panel_end,
                        float *out, int out_stride, int accumulate) {
    int blocks = (rows + BLOCK - 1) / BLOCK;
    for (int p = panel_begin; p < panel_end; p++) {
        const float *panel = packed_weights + (size_t)p * PANEL * inputs;
        int columns = outputs - p * PANEL;
        if (columns > PANEL) columns = PANEL;
        __mmask16 low = columns >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << columns) - 1);
        __mmask16 high = columns >= 32 ? (__mmask16)0xFFFF : columns <= 16 ? 0 : (__mmask16)((1u << (columns - 16)) - 1);
        (void)low; (void)high;
        const float *panel_bias = bias ? bias + p * PANEL : NULL;
        for (int k0 = 0; k0 < inputs; k0 += DEPTH) {
            int depth = inputs - k0 < DEPTH ? inputs - k0 : DEPTH;
            for (int b = 0; b < blocks; b++) {
                int valid = rows - b * BLOCK;
                if (valid > BLOCK) valid = BLOCK;
                const float *block = packed_rows + (size_t)b * BLOCK * inputs + (size_t)k0 * BLOCK;
                float *target = out + (size_t)b * BLOCK * out_stride + p * PANEL;
                if (kernel == SER_ISA_AVX512)
                    tile(block, panel + (size_t)k0 * PANEL, depth, k0 == 0 ? panel_bias : NULL, target, out_stride, valid,
                         k0 == 0 ? accumulate : 1, low, high);
                else
                    tile_avx2(block, panel + (size_t)k0 * PANEL, depth, k0 == 0 ? panel_bias : NULL, target, out_stride, valid,
                              k0 == 0 ? accumulate : 1, columns);
            }
        }
    }
}
#endif

int ser_packed_gemm(const float *packed_rows, int rows, int inputs, const float *packed_weights,
                    const float *bias, int outputs, int panel_begin, int panel_end,
                    float *out, int out_stride, int accumulate) {
    return ser_packed_gemm_using(-1, packed_rows, rows, inputs, packed_weights, bias, outputs, panel_begin, panel_end,
                                 out, out_stride, accumulate);
}

int ser_packed_gemm_using(int kernel, const float *packed_rows, int rows, int inputs, const float *packed_weights,
                          const float *bias, int outputs, int panel_begin, int panel_end,
                          float *out, int out_stride, int accumulate) {
#if SER_PACKED_KERNELS
    int best = ser_packed_kernel();
    if (kernel < 0) kernel = best;
    if (kernel <= SER_ISA_PORTABLE || kernel > best) return 0;
    if (rows <= 0 || inputs <= 0 || outputs <= 0 || out_stride < outputs) return 0;
    if (panel_begin < 0) panel_begin = 0;
    if (panel_end > ser_packed_panels(outputs)) panel_end = ser_packed_panels(outputs);
    if (panel_begin >= panel_end) return 1;
    gemm_panels(kernel, packed_rows, rows, inputs, packed_weights, bias, outputs, panel_begin, panel_end, out, out_stride,
                accumulate);
    return 1;
#else
    (void)kernel; (void)packed_rows; (void)rows; (void)inputs; (void)packed_weights; (void)bias; (void)outputs;
    (void)panel_begin; (void)panel_end; (void)out; (void)out_stride; (void)accumulate;
    return 0;
#endif
}
