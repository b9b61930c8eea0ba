using Frugal.Backends.Cuda.Kernels;
using Frugal.Tensors;

namespace Frugal.Tests.Backends.Cuda;

/// <summary>The host-side grouping behind the deterministic index_add / scatter_add kernels, replayed on the host
/// as the kernels apply it and compared with the CPU backend.</summary>
public class IndexPlanTests
{
    [Fact]
    public void Index_groups_list_distinct_targets_with_their_positions_in_order()
    {
        var (targets, starts, js) = IndexPlans.GroupIndices([3, 1, 3, 0, 3], 5);
        Assert.Equal([0, 1, 3], targets);
        Assert.Equal([0, 1, 2, 5], starts);
        Assert.Equal([3, 1, 0, 2, 4], js);
        var empty = IndexPlans.GroupIndices([], 4);
        Assert.Empty(empty.Targets);
        Assert.Equal([0], empty.Starts);
    }

    [Fact]
    public void Index_add_replayed_through_the_groups_equals_the_cpu_kernel_bit_for_bit()
    {
        int outer = 3, dim = 6, inner = 4;
        int[] idx = [5, 2, 5, 5, 0, 2, 1];
        var g = new Generator(11);
        var y = Tensor.Randn(new Shape(outer, dim, inner), g);
        var src = Tensor.Randn(new Shape(outer, idx.Length, inner), g);
        var expected = y.ToArray();
        var cpu = Tensor.FromArray(expected, y.Shape);
        cpu.Backend.IndexAdd(cpu, outer, dim, inner, idx, src);
        // What fr_index_add does, thread by thread.
        var (targets, starts, js) = IndexPlans.GroupIndices(idx, dim);
        var yy = y.ToArray(); var s = src.ToArray();
        for (int o = 0; o < outer; o++)
            for (int u = 0; u < targets.Length; u++)
                for (int i = 0; i < inner; i++)
                {
                    int at = (o * dim + targets[u]) * inner + i;
                    float acc = yy[at];
                    for (int q = starts[u]; q < starts[u + 1]; q++) acc += s[(o * idx.Length + js[q]) * inner + i];
                    yy[at] = acc;
                }
        Assert.Equal(cpu.ToArray(), yy);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Scatter_add_replayed_through_the_groups_equals_the_cpu_kernel_bit_for_bit(int axis)
    {
        var yShape = new Shape(3, 4, 5);
        var srcShape = new Shape(3, 4, 6);
        var indexShape = new Shape(2, 3, 4);
        var gen = new Generator(5);
        var index = new int[indexShape.Numel];
        for (int i = 0; i < index.Length; i++) index[i] = gen.NextInt(yShape[axis]);
        var y = Tensor.Randn(yShape, gen);
        var src = Tensor.Randn(srcShape, gen);
        var cpu = Tensor.FromArray(y.ToArray(), yShape);
        cpu.Backend.ScatterAdd(cpu, axis, index, indexShape, src);
        var (targets, starts, sources) = IndexPlans.GroupScatter(yShape, axis, index, indexShape, srcShape);
        Assert.Equal(targets.Order().ToArray(), targets);
        Assert.Equal(targets.Length, targets.Distinct().Count());
        var yy = y.ToArray(); var s = src.ToArray();
        for (int u = 0; u < targets.Length; u++)
        {
            float acc = yy[targets[u]];
            for (int q = starts[u]; q < starts[u + 1]; q++) acc += s[sources[q]];
            yy[targets[u]] = acc;
        }
        Assert.Equal(cpu.ToArray(), yy);
    }
}
