namespace Frugal.Backends.Cpu;

/// <summary>
/// One threading policy for the CPU backend, so BLAS threads and element-wise workers never compete
/// (PyTorch loses up to 6x on two cores when they do; DESIGN.md). GEMMs run on OpenBLAS's own threads
/// from the calling thread; element-wise kernels split across cores with Parallel.For only above
/// <see cref="ParallelThreshold"/> elements, and always between GEMM calls, never during one.
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

    /// <summary>The grain for items (rows, channels, images) that each cost <paramref name="workPerItem"/> element
    /// operations: enough items per chunk to make about <see cref="ParallelThreshold"/> work.</summary>
    public static int Grain(long workPerItem) => (int)Math.Clamp(ParallelThreshold / Math.Max(1, workPerItem), 2, int.MaxValue);

    /// <summary>Runs body(start, end) over [0, n) in contiguous chunks, in parallel only when n is large.</summary>
    public static void For(int n, Action<int, int> body, int grain = 0)
    {
        // grain = the least work worth a thread, in items; each chunk gets at least half of it.
        int threshold = Math.Max(2, grain > 0 ? grain : ParallelThreshold);
        if (Threads == 1 || n < threshold) { body(0, n); return; }
        int chunks = Math.Min(Threads, (n + threshold / 2 - 1) / (threshold / 2));
        int size = (n + chunks - 1) / chunks;
        // For element ranges (no explicit grain) chunk boundaries are multiples of 16 floats, so SIMD
        // loops keep full vectors; item ranges (explicit grain: rows, channels) split evenly.
        if (grain <= 0) size = (size + 15) & ~15;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Threads }, c =>
        {
            int s = c * size, e = Math.Min(n, s + size);
            if (s < e) body(s, e);
        });
    }
}
