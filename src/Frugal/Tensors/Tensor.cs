using Frugal.Autograd;
using Frugal.Backends;

namespace Frugal.Tensors;

/// <summary>
/// A float32, contiguous, row-major n-dimensional array on a device, with autograd.
/// Views (reshape, leading-axis slices) share storage and differ by shape and offset.
/// </summary>
public sealed partial class Tensor
{
    public Shape Shape { get; }
    public Storage Storage { get; }
    /// <summary>Start of this tensor in its storage, in floats.</summary>
    public int Offset { get; }

    public Device Device => Storage.Device;
    public IBackend Backend => Storage.Backend;
    public int Rank => Shape.Rank;
    public int Numel => Shape.Numel;
    public int Size(int axis) => Shape[Shape.Axis(axis, "size")];

    /// <summary>Optional name (parameters carry their state-dict key) used in messages.</summary>
    public string? Name { get; set; }

    public Tensor(Shape shape, Storage storage, int offset = 0)
    {
        if (offset < 0 || offset + shape.Numel > storage.Length)
            throw new ArgumentException($"tensor: shape {shape} at offset {offset} does not fit a storage of {storage.Length} floats");
        Shape = shape;
        Storage = storage;
        Offset = offset;
    }

    // ---- autograd state ------------------------------------------------------------------

    bool _requiresGrad;
    /// <summary>Whether gradients flow to this tensor. Only leaves (tensors not produced by an op) can be set.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (GradFn != null && !value) throw new InvalidOperationException("requires_grad: cannot turn off gradients of a non-leaf tensor; use Detach()");
            _requiresGrad = value;
        }
    }

    /// <summary>Accumulated gradient of a leaf after <see cref="Backward"/>.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The function that produced this tensor (null for leaves).</summary>
    public Function? GradFn { get; internal set; }
    public bool IsLeaf => GradFn == null;

    internal List<Func<Tensor, Tensor>>? Hooks;

    /// <summary>
    /// Registers a hook that sees, and may replace, the gradient flowing into this tensor during
    /// backward: for an intermediate tensor this is the neural gradient before it propagates further;
    /// for a parameter it is the weight gradient before it is accumulated into <see cref="Grad"/>.
    /// The handle removes this hook alone.
    /// </summary>
    public Autograd.RemovableHandle RegisterHook(Func<Tensor, Tensor> hook)
    {
        if (!RequiresGrad) throw new InvalidOperationException($"register_hook: tensor {Name ?? Shape.ToString()} does not require grad");
        return Autograd.RemovableHandle.Add(hook, () => Hooks, h => Hooks = h);
    }

    /// <summary>
    /// Registers a pruning hook: the same as <see cref="RegisterHook(Func{Tensor, Tensor})"/> with
    /// <see cref="Autograd.PruneGradientHook.Apply"/>, except that a producer able to prune as it writes the gradient
    /// may apply it instead (see <see cref="Autograd.PruneGradientHook"/>).
    /// </summary>
    public Autograd.RemovableHandle RegisterHook(Autograd.PruneGradientHook hook) => RegisterHook(hook.Apply);

    /// <summary>This tensor's only hook, when it is a <see cref="Autograd.PruneGradientHook"/>'s Apply.</summary>
    internal Autograd.PruneGradientHook? OnlyPruneHook =>
        Hooks is [var only] && only.Target is Autograd.PruneGradientHook h && only.Equals(new Func<Tensor, Tensor>(h.Apply)) ? h : null;

    internal List<Action<Tensor>>? PostAccumulateHooks;

    /// <summary>
    /// Registers a hook that runs on a leaf right after backward has accumulated into its <see cref="Grad"/> (PyTorch's
    /// register_post_accumulate_grad_hook): the point where a data-parallel trainer may send the gradient while
    /// backward goes on with earlier layers. The hook gets the leaf itself.
    /// </summary>
    public Autograd.RemovableHandle RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        if (!RequiresGrad || !IsLeaf) throw new InvalidOperationException($"register_post_accumulate_grad_hook: tensor {Name ?? Shape.ToString()} is not a leaf that requires grad");
        return Autograd.RemovableHandle.Add(hook, () => PostAccumulateHooks, h => PostAccumulateHooks = h);
    }

    /// <summary>Back-propagates from this tensor; a scalar needs no <paramref name="gradient"/>.</summary>
    public void Backward(Tensor? gradient = null) => Engine.Backward(this, gradient);

    /// <summary>The same data, cut from the graph.</summary>
    public Tensor Detach() => new(Shape, Storage, Offset) { Name = Name };

    // ---- data access ----------------------------------------------------------------------

    /// <summary>The elements as a span. CPU tensors only; use <see cref="ToArray"/> for any device.</summary>
    public Span<float> Span
    {
        get
        {
            var host = Storage.HostArray
                ?? throw new InvalidOperationException($"span: tensor is on {Device}; call ToArray() or To(Device.Cpu) first");
            return host.AsSpan(Offset, Numel);
        }
    }

    public float[] ToArray()
    {
        var a = new float[Numel];
        Backend.Download(Storage, Offset, a);
        return a;
    }

    /// <summary>The value of a one-element tensor.</summary>
    public float Item()
    {
        if (Numel != 1) throw new InvalidOperationException($"item: tensor of shape {Shape} has {Numel} elements, not 1");
        Span<float> one = stackalloc float[1];
        Backend.Download(Storage, Offset, one);
        return one[0];
    }

    /// <summary>This tensor on <paramref name="device"/> (itself if already there).</summary>
    public Tensor To(Device device)
    {
        if (device == Device) return this;
        var t = Empty(Shape, device);
        t.Backend.Upload(ToArray(), t.Storage, t.Offset);
        t.RequiresGrad = RequiresGrad && IsLeaf;
        t.Name = Name;
        return t;
    }

    /// <summary>Copies the values of <paramref name="source"/> (same shape, any device) into this tensor in place.</summary>
    public void CopyFrom(Tensor source)
    {
        if (source.Shape != Shape) throw new ArgumentException($"copy: source shape {source.Shape} differs from destination {Shape}{(Name is null ? "" : $" ({Name})")}");
        if (source.Device == Device) Backend.CopyBlocks(source, 0, 0, this, 0, 0, Numel, 1);
        else Backend.Upload(source.ToArray(), Storage, Offset);
    }

    public override string ToString()
    {
        var v = Numel <= 8 ? string.Join(", ", ToArray().Select(x => x.ToString("G5"))) : $"{Numel} values";
        return $"Tensor{Shape} on {Device}: [{v}]{(GradFn != null ? $" grad_fn={GradFn.GetType().Name}" : "")}";
    }

    // ---- factories -------------------------------------------------------------------------

    /// <summary>A zero-filled tensor (as <see cref="Zeros(Shape, Device?)"/>).</summary>
    public static Tensor Empty(Shape shape, Device? device = null)
    {
        var backend = BackendRegistry.Get(device ?? Device.Cpu);
        return new Tensor(shape, backend.Allocate(shape.Numel));
    }

    /// <summary>A tensor with unspecified contents, for op outputs that a kernel overwrites entirely
    /// (saves the zero-fill; <see cref="Empty"/> is zero-filled).</summary>
    public static Tensor Uninitialized(Shape shape, Device? device = null)
    {
        var backend = BackendRegistry.Get(device ?? Device.Cpu);
        return new Tensor(shape, backend.AllocateUninitialized(shape.Numel));
    }

    public static Tensor Zeros(params int[] shape) => Empty(new Shape(shape));
    public static Tensor Zeros(Shape shape, Device? device = null) => Empty(shape, device);

    public static Tensor Full(Shape shape, float value, Device? device = null)
    {
        var t = Empty(shape, device);
        if (value != 0) t.Backend.Fill(t, value);
        return t;
    }

    public static Tensor Ones(params int[] shape) => Full(new Shape(shape), 1f);
    public static Tensor Scalar(float value, Device? device = null) => Full(new Shape(), value, device);

    /// <summary>A tensor holding <paramref name="data"/> (copied) in the given shape.</summary>
    public static Tensor FromArray(float[] data, params int[] shape) => FromArray(data, new Shape(shape));

    public static Tensor FromArray(ReadOnlySpan<float> data, Shape shape, Device? device = null)
    {
        if (data.Length != shape.Numel)
            throw new ArgumentException($"from_array: {data.Length} values do not fill shape {shape} ({shape.Numel} elements)");
        var t = Empty(shape, device);
        t.Backend.Upload(data, t.Storage, t.Offset);
        return t;
    }

    /// <summary>Standard normal samples from <paramref name="generator"/> (default: <see cref="Generator.Default"/>).</summary>
    public static Tensor Randn(Shape shape, Generator? generator = null, Device? device = null)
    {
        var host = new float[shape.Numel];
        (generator ?? Generator.Default).FillNormal(host);
        return FromArray(host, shape, device);
    }

    /// <summary>Uniform samples in [low, high).</summary>
    public static Tensor Uniform(Shape shape, float low, float high, Generator? generator = null, Device? device = null)
    {
        var host = new float[shape.Numel];
        (generator ?? Generator.Default).FillUniform(host, low, high);
        return FromArray(host, shape, device);
    }

    /// <summary>0, 1, …, n−1.</summary>
    public static Tensor Arange(int n, Device? device = null)
    {
        var host = new float[n];
        for (int i = 0; i < n; i++) host[i] = i;
        return FromArray(host, new Shape(n), device);
    }
}
