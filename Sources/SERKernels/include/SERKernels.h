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

/// Transforms `count` (1...SER_STFT_BATCH) frames at once, all lanes of one
/// vector running one frame each.
///
/// - `frames[i]`: the `fft_size` samples of frame i (unwindowed).
/// - `window`: `fft_size` window weights, multiplied in before the FFT.
/// - `magnitudes`, `power`: frame i's `fft_size / 2 + 1` values of |X| and |X|²
///   go to `row_stride · i` onwards.
/// - `maxima[i]`: frame i's largest |X|.
void ser_stft_magnitudes(ser_stft_plan *plan, const float *const *frames, int count, const float *window,
                         float *magnitudes, float *power, size_t row_stride, float *maxima);

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

#ifdef __cplusplus
}
#endif

#endif
