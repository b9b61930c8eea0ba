// Frugal CUDA emulator runtime: the driver API, cuBLAS and NVRTC entry points the backend calls, implemented on the
// CPU. Device memory is host memory; a "compiled" module is the set of kernels built into this library from the
// same CUDA C sources (see gen/); cuLaunchKernel runs the grid block by block, the threads of a block as fibers.
// Everything is serialised by one mutex (the backend may be called from several test threads).
#include "emu.h"
#include <ucontext.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <mutex>
#include <map>
#include <string>
#include <vector>

fr_dim3 threadIdx, blockIdx, blockDim, gridDim;

static std::mutex g_lock;
static std::map<std::string, const EmuKernel*>& registry()
{
    static std::map<std::string, const EmuKernel*> r;
    return r;
}

EmuRegistrar::EmuRegistrar(const EmuKernel* kernels, int count)
{
    for (int i = 0; i < count; i++) registry()[kernels[i].name] = &kernels[i];
}

// ---- fibers ------------------------------------------------------------------------------------

struct Fiber { ucontext_t ctx; char* stack; int done; };
static const size_t kStack = 256 * 1024;
static std::vector<Fiber> g_fibers;
static ucontext_t g_scheduler;
static int g_current;
static const EmuKernel* g_kernel;
static void** g_args;

static void fiber_main()
{
    g_kernel->thunk(g_args);
    g_fibers[g_current].done = 1;   // returning resumes uc_link = the scheduler
}

void __syncthreads()
{
    if (g_fibers.empty() || !g_kernel || !g_kernel->cooperative) abort();   // a barrier in a kernel marked non-cooperative
    swapcontext(&g_fibers[g_current].ctx, &g_scheduler);
}

static void set_thread(int t)
{
    threadIdx.x = t % blockDim.x;
    threadIdx.y = (t / blockDim.x) % blockDim.y;
    threadIdx.z = t / (blockDim.x * blockDim.y);
}

static void run_block(int threads)
{
    if (!g_kernel->cooperative)
    {
        for (int t = 0; t < threads; t++) { set_thread(t); g_kernel->thunk(g_args); }
        return;
    }
    if ((int)g_fibers.size() < threads)
    {
        size_t old = g_fibers.size();
        g_fibers.resize(threads);
        for (size_t i = old; i < (size_t)threads; i++) g_fibers[i].stack = (char*)malloc(kStack);
    }
    for (int t = 0; t < threads; t++)
    {
        Fiber& f = g_fibers[t];
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = f.stack;
        f.ctx.uc_stack.ss_size = kStack;
        f.ctx.uc_link = &g_scheduler;
        makecontext(&f.ctx, fiber_main, 0);
        f.done = 0;
    }
    // Round robin: each round runs every live thread to its next barrier (or its end).
    for (int live = threads; live > 0;)
    {
        live = 0;
        for (int t = 0; t < threads; t++)
        {
            if (g_fibers[t].done) continue;
            g_current = t;
            set_thread(t);
            swapcontext(&g_scheduler, &g_fibers[t].ctx);
            if (!g_fibers[t].done) live++;
        }
    }
}

// ---- driver API --------------------------------------------------------------------------------

typedef int CUresult;
enum { OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, INVALID_DEVICE = 101, NOT_FOUND = 500 };
static std::map<uint64_t, size_t> g_allocs;

#define API extern "C" __attribute__((visibility("default")))
#define LOCK std::lock_guard<std::mutex> guard(g_lock)

API CUresult cuInit(unsigned) { return OK; }
API CUresult cuDriverGetVersion(int* v) { *v = 13000; return OK; }
API CUresult cuDeviceGetCount(int* n) { *n = 1; return OK; }
API CUresult cuDeviceGet(int* d, int ordinal) { if (ordinal != 0) return INVALID_DEVICE; *d = 0; return OK; }
API CUresult cuDeviceGetName(char* name, int len, int) { strncpy(name, "Frugal CUDA emulator (CPU)", len); name[len - 1] = 0; return OK; }
API CUresult cuDeviceGetAttribute(int* v, int attr, int)
{
    *v = attr == 75 ? 9 : attr == 76 ? 0 : attr == 16 ? 1 : 0;
    return OK;
}
API CUresult cuDeviceTotalMem_v2(size_t* bytes, int) { *bytes = (size_t)16 << 30; return OK; }
API CUresult cuDevicePrimaryCtxRetain(void** ctx, int) { *ctx = (void*)0x1; return OK; }
API CUresult cuDevicePrimaryCtxRelease_v2(int) { return OK; }
API CUresult cuCtxSetCurrent(void*) { return OK; }
API CUresult cuCtxSynchronize() { return OK; }

API CUresult cuGetErrorName(CUresult r, const char** name)
{
    switch (r)
    {
        case OK: *name = "CUDA_SUCCESS"; return OK;
        case INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; return OK;
        case OUT_OF_MEMORY: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return OK;
        case NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; return OK;
        default: *name = 0; return INVALID_VALUE;
    }
}

API CUresult cuMemAlloc_v2(uint64_t* p, size_t bytes)
{
    LOCK;
    void* m = malloc(bytes ? bytes : 1);
    if (!m) return OUT_OF_MEMORY;
    *p = (uint64_t)m;
    g_allocs[*p] = bytes;
    return OK;
}

API CUresult cuMemFree_v2(uint64_t p)
{
    LOCK;
    if (!g_allocs.erase(p)) return INVALID_VALUE;
    free((void*)p);
    return OK;
}

API CUresult cuMemGetInfo_v2(size_t* free_, size_t* total) { *free_ = (size_t)8 << 30; *total = (size_t)16 << 30; return OK; }

// Every device range touched by a copy must lie inside one allocation: catches host-side offset bugs.
static bool in_device(uint64_t p, size_t bytes)
{
    auto it = g_allocs.upper_bound(p);
    if (it == g_allocs.begin()) return false;
    --it;
    return p >= it->first && p + bytes <= it->first + it->second;
}

API CUresult cuMemcpyHtoD_v2(uint64_t d, const void* s, size_t n) { LOCK; if (!in_device(d, n)) return INVALID_VALUE; memcpy((void*)d, s, n); return OK; }
API CUresult cuMemcpyDtoH_v2(void* d, uint64_t s, size_t n) { LOCK; if (!in_device(s, n)) return INVALID_VALUE; memcpy(d, (void*)s, n); return OK; }
API CUresult cuMemcpyHtoDAsync_v2(uint64_t d, const void* s, size_t n, void*) { return cuMemcpyHtoD_v2(d, s, n); }
API CUresult cuMemcpyDtoHAsync_v2(void* d, uint64_t s, size_t n, void*) { return cuMemcpyDtoH_v2(d, s, n); }
API CUresult cuMemcpyDtoDAsync_v2(uint64_t d, uint64_t s, size_t n, void*)
{
    LOCK;
    if (!in_device(d, n) || !in_device(s, n)) return INVALID_VALUE;
    memmove((void*)d, (void*)s, n);
    return OK;
}
API CUresult cuMemsetD32_v2(uint64_t d, unsigned v, size_t count)
{
    LOCK;
    if (!in_device(d, 4 * count)) return INVALID_VALUE;
    unsigned* p = (unsigned*)d;
    for (size_t i = 0; i < count; i++) p[i] = v;
    return OK;
}
API CUresult cuMemsetD32Async(uint64_t d, unsigned v, size_t count, void*) { return cuMemsetD32_v2(d, v, count); }

API CUresult cuStreamCreate(void** s, unsigned) { *s = (void*)0x2; return OK; }
API CUresult cuStreamDestroy_v2(void*) { return OK; }
API CUresult cuStreamSynchronize(void*) { return OK; }

API CUresult cuEventCreate(void** e, unsigned) { *e = malloc(sizeof(double)); return OK; }
API CUresult cuEventRecord(void* e, void*)
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    *(double*)e = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    return OK;
}
API CUresult cuEventSynchronize(void*) { return OK; }
API CUresult cuEventElapsedTime(float* ms, void* a, void* b) { *ms = (float)(*(double*)b - *(double*)a); return OK; }
API CUresult cuEventDestroy_v2(void* e) { free(e); return OK; }

API CUresult cuModuleLoadData(void** m, const void*) { *m = (void*)0x3; return OK; }
API CUresult cuModuleUnload(void*) { return OK; }
API CUresult cuModuleGetFunction(void** f, void*, const char* name)
{
    auto it = registry().find(name);
    if (it == registry().end()) return NOT_FOUND;
    *f = (void*)it->second;
    return OK;
}

API CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                            unsigned shared, void*, void** params, void** extra)
{
    LOCK;
    if (!f || extra || shared || gx == 0 || bx == 0 || bx * by * bz > 1024) return INVALID_VALUE;
    g_kernel = (const EmuKernel*)f;
    g_args = params;
    gridDim = { gx, gy, gz };
    blockDim = { bx, by, bz };
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++)
            {
                blockIdx = { x, y, z };
                run_block((int)(bx * by * bz));
            }
    g_kernel = 0;
    return OK;
}

// ---- cuBLAS ------------------------------------------------------------------------------------

API int cublasCreate_v2(void** h) { *h = (void*)0x4; return 0; }
API int cublasDestroy_v2(void*) { return 0; }
API int cublasGetVersion_v2(void*, int* v) { *v = 130000; return 0; }
API int cublasSetStream_v2(void*, void*) { return 0; }
API int cublasSetMathMode(void*, int) { return 0; }

// Column-major reference sgemm exactly as BLAS specifies it (element (i, j) of X at X[i + j·ld]), double sums.
static int sgemm(int ta, int tb, int m, int n, int k, float alpha, const float* A, int lda, const float* B, int ldb,
                 float beta, float* C, int ldc)
{
    if (m < 0 || n < 0 || k < 0 || lda < (ta ? (k > 1 ? k : 1) : (m > 1 ? m : 1)) || ldb < (tb ? (n > 1 ? n : 1) : (k > 1 ? k : 1))
        || ldc < (m > 1 ? m : 1)) return 7;   // CUBLAS_STATUS_INVALID_VALUE, as cuBLAS checks
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
        {
            double s = 0;
            for (int l = 0; l < k; l++)
                s += (double)(ta ? A[l + (long long)i * lda] : A[i + (long long)l * lda]) * (tb ? B[j + (long long)l * ldb] : B[l + (long long)j * ldb]);
            float* c = C + i + (long long)j * ldc;
            *c = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *c));
        }
    return 0;
}

API int cublasSgemm_v2(void*, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                       const float* B, int ldb, const float* beta, float* C, int ldc)
{
    LOCK;
    return sgemm(ta, tb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
}

API int cublasSgemmStridedBatched(void*, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda, long long sa,
                                  const float* B, int ldb, long long sb, const float* beta, float* C, int ldc, long long sc, int batch)
{
    LOCK;
    for (int p = 0; p < batch; p++)
    {
        int rc = sgemm(ta, tb, m, n, k, *alpha, A + p * sa, lda, B + p * sb, ldb, *beta, C + p * sc, ldc);
        if (rc) return rc;
    }
    return 0;
}

// ---- NVRTC -------------------------------------------------------------------------------------

API int nvrtcVersion(int* major, int* minor) { *major = 13; *minor = 0; return 0; }
API int nvrtcGetNumSupportedArchs(int* n) { *n = 1; return 0; }
API int nvrtcGetSupportedArchs(int* a) { a[0] = 90; return 0; }
API int nvrtcCreateProgram(void** p, const char*, const char*, int, const char* const*, const char* const*) { *p = (void*)0x5; return 0; }
API int nvrtcCompileProgram(void*, int, const char* const*) { return 0; }
static const char kPtx[] = "// emulated: kernels are compiled into libfrugal_cuda_emu.so";
API int nvrtcGetPTXSize(void*, size_t* n) { *n = sizeof kPtx; return 0; }
API int nvrtcGetPTX(void*, char* ptx) { memcpy(ptx, kPtx, sizeof kPtx); return 0; }
API int nvrtcGetProgramLogSize(void*, size_t* n) { *n = 1; return 0; }
API int nvrtcGetProgramLog(void*, char* log) { log[0] = 0; return 0; }
API int nvrtcDestroyProgram(void** p) { *p = 0; return 0; }
