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
}
