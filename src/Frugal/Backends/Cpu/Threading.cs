namespace Frugal.Backends.Cpu;

/// <summary>
/// One threading policy for the CPU backend, so BLAS threads and element-wise workers never compete
/// (PyTorch loses up to 6x on two cores when they do; DESIGN.md). GEMMs run on OpenBLAS's own threads
/// from the calling thread; element-wise kernels split across cores with Parallel.For only above
/// <see cref="ParallelThreshold"/> elements of work (<see cref="StreamingThreshold"/> for memory-bound ones), and
/// always between GEMM calls, never during one.
/// </summary>
public static class Threading
{
    /// <summary>Worker count for both BLAS and element-wise work (FRUGAL_THREADS overrides; default all cores, shared
    /// out among the ranks mpirun started on this machine, OMPI_COMM_WORLD_LOCAL_SIZE, so they do not oversubscribe).</summary>
    public static int Threads { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("FRUGAL_THREADS"), out var t) && t > 0 ? t
        : Math.Max(1, Environment.ProcessorCount / (int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out var ranks) && ranks > 0 ? ranks : 1));

    /// <summary>Below this many elements an element-wise kernel runs on the calling thread: the hand-off costs more than it saves.</summary>
    public static int ParallelThreshold { get; set; } = 1 << 16;

    /// <summary>
    /// Below this many elements a memory-bound element-wise kernel (a few flops per element loaded: ReLU and its
    /// backward, add, multiply, the fused optimizer steps) runs on the calling thread. Such a kernel streams at the
    /// memory's speed on one core and a second thread hardly adds bandwidth, while the hand-off to a pool thread costs
    /// tens of microseconds, more where OpenBLAS's workers still spin on the other core after a GEMM: a ReLU of
    /// 128×1024 floats takes ~30 µs on the calling thread and 85–130 µs split in two (docs/RESULTS.md). 2M elements
    /// keep every tensor of the mlp (the largest, a 1024×1024 weight, 1M) on one thread, and split the cnn's 3.2M-element
    /// activations in two.
    /// </summary>
    public static int StreamingThreshold { get; set; } = 1 << 21;

    /// <summary>The grain for items (rows, channels, images) that each cost <paramref name="workPerItem"/> element
    /// operations: enough items per chunk to make about <see cref="ParallelThreshold"/> work.</summary>
    public static int Grain(long workPerItem) => (int)Math.Clamp(ParallelThreshold / Math.Max(1, workPerItem), 2, int.MaxValue);

    /// <summary>Runs body(start, end) over [0, n) in contiguous chunks, in parallel only when n is large.</summary>
    public static void For(int n, Action<int, int> body, int grain = 0) =>
        Split(n, body, Math.Max(2, grain > 0 ? grain : ParallelThreshold), alignToVectors: grain <= 0);

    /// <summary>Runs body(start, end) over the element range [0, n) of a memory-bound kernel, in parallel only
    /// from <see cref="StreamingThreshold"/> elements on.</summary>
    public static void ForStreaming(int n, Action<int, int> body) => Split(n, body, StreamingThreshold, alignToVectors: true);

    /// <summary>Chunks of at least half of <paramref name="threshold"/> items, one per thread at most; none below it.</summary>
    static void Split(int n, Action<int, int> body, int threshold, bool alignToVectors)
    {
        if (Threads == 1 || n < threshold) { body(0, n); return; }
        int chunks = Math.Min(Threads, (n + threshold / 2 - 1) / (threshold / 2));
        int size = (n + chunks - 1) / chunks;
        // Element ranges get chunk boundaries at multiples of 16 floats, so SIMD loops keep full vectors;
        // item ranges (rows, channels) split evenly.
        if (alignToVectors) size = (size + 15) & ~15;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Threads }, c =>
        {
            int s = c * size, e = Math.Min(n, s + size);
            if (s < e) body(s, e);
        });
    }
}
