#ifndef SER_COPENBLAS_SHIM_H
#define SER_COPENBLAS_SHIM_H
#include <cblas.h>
// OpenBLAS extension: threads used inside one BLAS call. ser parallelises over
// files instead, so batch work sets this to 1.
void openblas_set_num_threads(int num_threads);
#endif
