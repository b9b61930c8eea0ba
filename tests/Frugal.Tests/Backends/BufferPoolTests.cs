using Frugal.Backends.Cpu;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Backends;

[Collection(GcObservingCollection.Name)]
public class BufferPoolTests
{
    const int N = BufferPool.MinLength * 2;

    static float[] ArrayOf(Tensor t) => ((CpuStorage)t.Storage).Data;

    [Fact]
    public void Buffers_of_dead_tensors_are_reused_after_recycle_and_come_back_zeroed()
    {
        using var pool = BufferPool.Enable();
        var first = Tensor.Full(new Shape(N), 7f);
        var array = ArrayOf(first);
        first = null!;
        BufferPool.Recycle();
        var second = Tensor.Zeros(new Shape(N));
        Assert.Same(array, ArrayOf(second));
        Assert.All(second.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void A_live_tensor_never_shares_its_buffer()
    {
        using var pool = BufferPool.Enable();
        var live = Tensor.Full(new Shape(N), 3f);
        var view = live.Reshape(2, N / 2);
        live = null!;
        BufferPool.Recycle();
        var other = Tensor.Uninitialized(new Shape(N));
        Assert.NotSame(ArrayOf(view), ArrayOf(other));
        Assert.All(view.ToArray(), v => Assert.Equal(3f, v));
    }

    [Fact]
    public void Without_a_pool_allocations_are_fresh()
    {
        var a = Tensor.Zeros(new Shape(N));
        var array = ArrayOf(a);
        a = null!;
        GC.Collect();
        Assert.NotSame(array, ArrayOf(Tensor.Zeros(new Shape(N))));
    }

    [Fact]
    public void A_smaller_request_reuses_a_longer_free_buffer_up_to_twice_its_length_and_sees_only_its_own_length()
    {
        const int M = BufferPool.MinLength * 4;  // so that every request below is pooled
        using var pool = BufferPool.Enable();
        var big = Tensor.Full(new Shape(M), 5f);
        var array = ArrayOf(big);
        big = null!;
        BufferPool.Recycle();
        // A third longer than needed: reused rather than allocated afresh (what lets a later, smaller part of a step
        // live in the memory an earlier part dropped).
        var smaller = Tensor.Zeros(new Shape(M * 3 / 4));
        Assert.Same(array, ArrayOf(smaller));
        Assert.Equal(M * 3 / 4, smaller.Numel);
        Assert.All(smaller.ToArray(), v => Assert.Equal(0f, v));
        smaller = null!;
        BufferPool.Recycle();
        // More than twice as long: left for a request of its own size.
        var tiny = Tensor.Zeros(new Shape(M / 2 - 1));
        Assert.NotSame(array, ArrayOf(tiny));
    }
}
