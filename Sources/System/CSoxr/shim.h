#ifndef SER_CSOXR_SHIM_H
#define SER_CSOXR_SHIM_H
#include <soxr.h>
#endif
