// Frugal CUDA emulator: the CUDA C built-ins the backend's kernels use, as C++ on the CPU.
// Each kernel module is compiled as one C++ translation unit that includes this header. Threads of a block run
// as fibers (ucontext) on one OS thread, so __syncthreads is a switch to the next fiber, and a block's __shared__
// arrays (static here) are shared by its threads; blocks run one after another. See README.md.
#pragma once
#include <math.h>
#include <string.h>

struct fr_dim3 { unsigned x, y, z; };
extern fr_dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__ static
#define __forceinline__ inline
#define __shared__ static

void __syncthreads();

static inline float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
static inline int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }

struct EmuKernel
{
    const char* name;
    void (*thunk)(void** args);
    int cooperative;   // uses __syncthreads: its threads must run as fibers
};

struct EmuRegistrar
{
    EmuRegistrar(const EmuKernel* kernels, int count);
};
