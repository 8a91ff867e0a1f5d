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

#ifdef __cplusplus
}
#endif

#endif
