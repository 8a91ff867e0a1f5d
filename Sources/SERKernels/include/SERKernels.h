// SERKernels: vector kernels for the hot loops of feature extraction.
//
// The kernels use AVX2 and FMA through function-level target attributes, so the
// package needs no compiler flags; callers ask `ser_kernels_available()` at run
// time and keep their portable Swift path for other CPUs.
#ifndef SER_KERNELS_H
#define SER_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU runs the kernels (x86-64 with AVX2 and FMA), else 0.
int ser_kernels_available(void);

/// Frames one call of `ser_stft_magnitudes` transforms at most.
#define SER_STFT_BATCH 8

/// A real FFT plan with its scratch buffers. Not thread-safe: one per thread.
typedef struct ser_stft_plan ser_stft_plan;

/// A plan for frames of `fft_size` samples (a power of two, at least 16), or
/// NULL for other sizes, when memory runs out, or when the kernels are unavailable.
ser_stft_plan *ser_stft_plan_create(int fft_size);

/// Frees a plan (NULL is allowed).
void ser_stft_plan_destroy(ser_stft_plan *plan);

/// A filter bank whose rows are non-zero over one contiguous run of bins each
/// (mel triangles): row r weighs bins `starts[r] ..< starts[r] + lengths[r]`
/// by `weights[offsets[r] ...]`.
typedef struct ser_banded_bank {
    int rows;
    const int *starts;
    const int *lengths;
    const int *offsets;
    const float *weights;
} ser_banded_bank;

/// Transforms `count` (1...SER_STFT_BATCH) frames at once, all lanes of one
/// vector running one frame each.
///
/// - `frames[i]`: the `fft_size` samples of frame i (unwindowed).
/// - `window`: `fft_size` window weights, multiplied in before the FFT.
/// - `magnitudes`: frame i's `fft_size / 2 + 1` values of |X| go to `row_stride · i` onwards.
/// - `maxima[i]`: frame i's largest |X|.
/// - `bank` (may be NULL): applied to |X|² (squared in float32) of every frame
///   while the spectrum is still in cache; row r of frame i goes to
///   `bank_out[r · bank_stride + i]`.
void ser_stft_magnitudes(ser_stft_plan *plan, const float *const *frames, int count, const float *window,
                         float *magnitudes, size_t row_stride, float *maxima,
                         const ser_banded_bank *bank, float *bank_out, size_t bank_stride);

/// librosa's `power_to_db` before its top_db clip, in place:
/// `10 · log10(max(values[i], amin)) − reference_db`, with the largest result in
/// `*peak`. Returns 1 when done; 0, leaving `values` untouched, when the kernels
/// are unavailable, `amin` is not a positive normal float, or a value is not finite.
int ser_power_to_db(float *values, size_t count, float amin, float reference_db, float *peak);

/// Raises every value below `lowest` to it (the top_db clip).
void ser_raise_to(float *values, size_t count, float lowest);

/// `out[r · frame_count + t] = Σ_k bank[r · bins + k] · frames[t · bins + k]`:
/// a dense `rows × bins` filter bank applied to a frame-major spectrogram.
/// Returns 0 (and writes nothing) when the kernels are unavailable or a size is not positive.
int ser_apply_dense_bank(const float *bank, int rows, int bins, const float *frames, int frame_count, float *out);

/// librosa `piptrack`'s peaks in a frame-major spectrogram (`frames × bins`):
/// bins `first_bin ..< end_bin` (first_bin ≥ 1) that exceed `threshold ·
/// frame_maxima[t]` and are local maxima once values at or under it count as 0.
/// Each peak's parabolic-interpolated position (bin + shift) and magnitude go to
/// `positions` and `magnitudes`, which must hold `frames · ((end_bin − first_bin) / 2 + 1)`
/// values plus 8 spare slots (vector stores write past the last peak). Returns the number of peaks, or −1 (nothing written) when the kernels
/// are unavailable or the bin range is invalid.
long ser_spectral_peaks(const float *spectrum, int frames, int bins, int first_bin, int end_bin, float threshold,
                        const float *frame_maxima, double *positions, float *magnitudes);

/// 1 when this CPU runs the narrow-output products (`ser_narrow_gemm_nn`, `_tn`: AVX2 and FMA within `ser_max_cpu_isa`), else 0.
int ser_narrow_gemm_available(void);

/// Columns a narrow operand is padded to: 8 for `n` ≤ 8, else 16.
int ser_narrow_width(int n);

/// Copies `rows × n` values (row stride `ldb`) into `padded`, `rows × ser_narrow_width(n)`, zero past column `n`.
void ser_narrow_pad(const float *b, int rows, int n, int ldb, float *padded);

/// Rows `row_begin ..< row_end` of `C = α · A · B + β · C` for `n` ≤ 16 output columns:
/// `A` row-major with stride `lda` and `k` columns, `B` (`k × n`) padded by `ser_narrow_pad`.
/// With β = 0, C's old values are not read. Each output is one chain of fused
/// multiply-adds over `k` in order, so any split of the rows gives the same bits.
/// Returns 0 (writing nothing) when unavailable or a size is invalid.
int ser_narrow_gemm_nn(const float *a, int lda, const float *b_padded, int k, int n, int row_begin, int row_end,
                       float alpha, float beta, float *c, int ldc);

/// Rows `column_begin ..< column_end` of `C = α · Aᵀ · G + β · C` for `n` ≤ 16 output
/// columns: `A` is `m` rows (stride `lda`) whose columns are C's rows, `G` (`m × n`)
/// padded by `ser_narrow_pad`. `scratch` holds `A`'s column count × `ser_narrow_width(n)`
/// floats (rows outside the range untouched). Each output is one chain of fused
/// multiply-adds over A's rows in order, so any split gives the same bits.
/// Returns 0 (writing nothing) when unavailable or a size is invalid.
int ser_narrow_gemm_tn(const float *a, int lda, const float *g_padded, int m, int n, int column_begin, int column_end,
                       float alpha, float beta, float *c, int ldc, float *scratch);

/// Instruction-set caps for `ser_max_cpu_isa`, widest last.
enum {
    /// Plain C.
    SER_ISA_PORTABLE = 0,
    /// x86-64 AVX2 and FMA.
    SER_ISA_AVX2 = 1,
    /// x86-64 AVX-512 and its extensions (no cap).
    SER_ISA_AVX512 = 2,
};

/// The widest instruction set the dense-layer kernels (`ser_packed_gemm`, `ser_int8_gemm`)
/// may use: `SER_ISA_AVX512` (whatever the CPU has), or a cap set by the environment's
/// `SER_MAX_CPU_ISA` (`avx2` or `portable`), so that a benchmark can time an AVX2-only
/// machine's code on a bigger CPU (as oneDNN's `ONEDNN_MAX_CPU_ISA` does). Read once per process.
int ser_max_cpu_isa(void);

/// The packed float32 kernel `ser_packed_gemm` runs on this CPU within `ser_max_cpu_isa`:
/// `SER_ISA_AVX512` (AVX-512F), `SER_ISA_AVX2` (AVX2 and FMA), or `SER_ISA_PORTABLE`
/// when there is none (callers then use OpenBLAS). Both kernels give the same bits.
int ser_packed_kernel(void);

/// 1 when `ser_packed_kernel` names a kernel, else 0.
int ser_packed_gemm_available(void);

/// Floats a packed copy of an `outputs × inputs` weight matrix takes (panels of 32
/// outputs, the last one zero-padded); 0 for a size that is not positive.
size_t ser_packed_weights_count(int outputs, int inputs);

/// Panels of 32 outputs in a packed weight matrix: the unit `ser_packed_gemm` splits work by.
int ser_packed_panels(int outputs);

/// Floats a packed copy of `rows × inputs` activations takes (blocks of 12 rows, the last zero-padded).
size_t ser_packed_rows_count(int rows, int inputs);

/// Packs row-major weights `W` (`outputs × inputs`, as in `y = x · Wᵀ`) into panels:
/// `packed[p · 32 · inputs + k · 32 + j] = W[32p + j][k]`, zero past the last output.
void ser_pack_weights(const float *weights, int outputs, int inputs, float *packed);

/// `ser_pack_weights` for a matrix read with strides: `W[o][k] = weights[o · output_stride + k · input_stride]`
/// (a transposed or row-strided operand, such as attention's keys and values, without a copy).
void ser_pack_weights_strided(const float *weights, int outputs, int inputs, int output_stride, int input_stride,
                              float *packed);

/// Packs `rows × inputs` activations (row `r` at `x + r · row_stride`) into blocks of
/// 12 rows: `packed[b · 12 · inputs + k · 12 + i] = x[12b + i][k]`, zero past the last row.
void ser_pack_rows(const float *x, int rows, int inputs, int row_stride, float *packed);

/// `out[r][c] = (accumulate ? out[r][c] : 0) + Σ_k x[r][k] · W[c][k] + bias[c]` for the
/// output columns of panels `panel_begin ..< panel_end` (32 columns each), from packed
/// activations and weights. `bias` may be NULL. Row `r` of `out` starts at `out + r · out_stride`.
/// Different panel ranges write disjoint columns, so threads may share one call's operands.
/// Returns 0 (writing nothing) when the kernels are unavailable or a size is invalid.
int ser_packed_gemm(const float *packed_rows, int rows, int inputs, const float *packed_weights,
                    const float *bias, int outputs, int panel_begin, int panel_end,
                    float *out, int out_stride, int accumulate);

/// `ser_packed_gemm` on a chosen kernel (`SER_ISA_AVX2` or `SER_ISA_AVX512`; −1 for
/// `ser_packed_kernel`'s), for tests and benchmarks that compare them. Returns 0
/// (writing nothing) for a kernel this CPU or the cap does not allow.
int ser_packed_gemm_using(int kernel, const float *packed_rows, int rows, int inputs, const float *packed_weights,
                          const float *bias, int outputs, int panel_begin, int panel_end,
                          float *out, int out_stride, int accumulate);

/// The int8 dense-layer kernels (`ser_int8_gemm`), fastest last. All give the same bits.
enum {
    /// Plain C, any CPU.
    SER_INT8_PORTABLE = 0,
    /// x86-64 AVX2 and FMA: `vpmaddubsw` and `vpmaddwd`.
    SER_INT8_AVX2 = 1,
    /// x86-64 AVX-512 VNNI: `vpdpbusd`.
    SER_INT8_VNNI = 2,
};

/// The fastest int8 kernel this CPU runs (`SER_INT8_*`) within `ser_max_cpu_isa`; read once per process.
int ser_int8_kernel(void);

/// Inputs rounded up to a multiple of 64 (one weight scale per 64 inputs): the byte length of one quantized row.
int ser_int8_padded_inputs(int inputs);

/// Panels of 16 outputs in packed int8 weights: the unit `ser_int8_gemm` splits work by.
int ser_int8_panels(int outputs);

/// Bytes of packed int8 weights for an `outputs × inputs` matrix; 0 for a size that is not positive.
size_t ser_int8_weights_size(int outputs, int inputs);

/// Weight scales (and as many offsets) of packed int8 weights: one per output and group of 64 inputs, padded to panels.
size_t ser_int8_scales_count(int outputs, int inputs);

/// Quantizes row-major weights `W` (`outputs × inputs`) to 7 bits (−63…63), with one
/// symmetric scale per output channel and group of 64 inputs (max|W| of the group / 63),
/// and packs them (`ser_int8_weights_size` bytes); `scales` and `offsets` (128 × the
/// group's integer weight sum) take `ser_int8_scales_count` values each.
void ser_int8_pack_weights(const float *weights, int outputs, int inputs, int8_t *packed, float *scales, int32_t *offsets);

/// Quantizes `rows × inputs` activations (row `r` at `x + r · row_stride`) per row to
/// −127…127 (scale max|x[r]| / 127, stored in `scales[r]`), offset by 128 into bytes:
/// `rows × ser_int8_padded_inputs(inputs)` bytes, padding bytes 128 (zero).
void ser_int8_quantize_rows(const float *x, int rows, int inputs, int row_stride, uint8_t *quantized, float *scales);

/// `out[r][c] = (accumulate ? out[r][c] : 0) + s_x[r] · Σ_g s_w[c][g] · Σ_{k∈g} q_x[r][k] · q_w[c][k] + bias[c]`
/// for the output columns of panels `panel_begin ..< panel_end` (16 columns each).
/// `kernel` is a `SER_INT8_*` value, or −1 for `ser_int8_kernel()`; every kernel gives
/// the same bits. `bias` may be NULL. Different panel ranges write disjoint columns.
/// Returns 0 (writing nothing) when the kernel is not available here or a size is invalid.
int ser_int8_gemm(const uint8_t *quantized_rows, const float *row_scales, int rows, int inputs,
                  const int8_t *packed_weights, const float *weight_scales, const int32_t *weight_offsets,
                  const float *bias, int outputs, int panel_begin, int panel_end,
                  float *out, int out_stride, int accumulate, int kernel);

#ifdef __cplusplus
}
#endif

#endif
