// SERKernels: vector kernels for the hot loops of feature extraction.
//
// The kernels use AVX2 and FMA through function-level target attributes, so the
// package needs no compiler flags; callers ask `ser_kernels_available()` at run
// time and keep their portable Swift path for other CPUs.
#ifndef SER_KERNELS_H
#define SER_KERNELS_H

#include <stddef.h>

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

#ifdef __cplusplus
}
#endif

#endif
