#ifndef SER_CSNDFILE_SHIM_H
#define SER_CSNDFILE_SHIM_H
#include <sndfile.h>
#endif
