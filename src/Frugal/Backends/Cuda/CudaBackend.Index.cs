using Frugal.Backends.Cpu;
using Frugal.Backends.Cuda.Kernels;
using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Index kernels on the GPU (IBackend.Index.cs). Indices are checked on the host with the CPU backend's checks and
// messages, then uploaded. index_add and scatter_add are deterministic: writes are grouped by target on the host
// (IndexPlans) and each target adds its sources in the CPU's order, so repeated indices give bit-identical sums.
public sealed partial class CudaBackend
{
    public void IndexSelect(Tensor x, int outer, int dim, int inner, int[] indices, Tensor y)
    {
        int k = indices.Length;
        CpuBackend.CheckIndices("index_select", indices, dim);
        CpuBackend.CheckSizes("index_select", x, (long)outer * dim * inner, y, (long)outer * k * inner);
        if (outer == 0 || k == 0 || inner == 0) return;
        using var idx = UploadInts(indices);
        Launch(IndexKernels.Module, "fr_index_select", LaunchShape.ForElements((long)outer * k * inner), P(x), idx.Pointer, P(y), outer, dim, inner, k);
    }

    public void IndexAdd(Tensor y, int outer, int dim, int inner, int[] indices, Tensor src)
    {
        int k = indices.Length;
        CpuBackend.CheckIndices("index_add", indices, dim);
        CpuBackend.CheckSizes("index_add", y, (long)outer * dim * inner, src, (long)outer * k * inner);
        if (outer == 0 || k == 0 || inner == 0) return;
        var (targets, starts, js) = IndexPlans.GroupIndices(indices, dim);
        using var t = UploadInts(targets);
        using var s = UploadInts(starts);
        using var j = UploadInts(js);
        Launch(IndexKernels.Module, "fr_index_add", LaunchShape.ForElements((long)outer * targets.Length * inner),
            P(y), P(src), t.Pointer, s.Pointer, j.Pointer, outer, dim, inner, k, targets.Length);
    }

    public void Gather(Tensor x, int axis, int[] index, Tensor y)
    {
        var ish = y.Shape;
        int r = ish.Rank, n = ish.Numel;
        if (index.Length != n) throw new ArgumentException($"gather: {index.Length} indices for an output of shape {ish}");
        if (x.Rank != r || !CpuBackend.FitsOutside(ish, x.Shape, axis)) throw new ArgumentException($"gather: output {ish} does not fit input {x.Shape} outside axis {axis}");
        CpuBackend.CheckIndices("gather", index, x.Shape[axis]);
        if (n == 0) return;
        var s = FrDims.Create("gather", ish.ToArray(), CpuBackend.Strides(x.Shape), default);
        using var idx = UploadInts(index);
        Launch(IndexKernels.Module, "fr_gather", LaunchShape.ForElements(n), P(x), idx.Pointer, P(y), n, axis, KernelArg.Struct(s));
    }

    public void ScatterAdd(Tensor y, int axis, int[] index, Shape indexShape, Tensor src)
    {
        int r = indexShape.Rank, n = indexShape.Numel;
        if (index.Length != n) throw new ArgumentException($"scatter_add: {index.Length} indices for index shape {indexShape}");
        if (y.Rank != r || src.Rank != r || !CpuBackend.FitsOutside(indexShape, y.Shape, axis) || !CpuBackend.FitsOutside(indexShape, src.Shape, -1))
            throw new ArgumentException($"scatter_add: index {indexShape} does not fit output {y.Shape} outside axis {axis} or src {src.Shape}");
        CpuBackend.CheckIndices("scatter_add", index, y.Shape[axis]);
        if (n == 0) return;
        var (targets, starts, sources) = IndexPlans.GroupScatter(y.Shape, axis, index, indexShape, src.Shape);
        using var t = UploadInts(targets);
        using var s = UploadInts(starts);
        using var o = UploadInts(sources);
        Launch(IndexKernels.Module, "fr_segment_add", LaunchShape.ForElements(targets.Length), P(y), P(src), t.Pointer, s.Pointer, o.Pointer, targets.Length);
    }
}
