using Frugal.Tensors;

namespace Frugal.Data;

/// <summary>
/// Examples held as host arrays (PyTorch's TensorDataset): inputs of any per-example shape, with class labels,
/// a target array, or both. For data a program makes or loads itself.
/// </summary>
public sealed class TensorDataset : IDataset
{
    readonly float[] _inputs;
    readonly int[] _exampleShape;
    readonly int _inputSize;
    readonly int[]? _labels;
    readonly float[]? _targets;
    readonly int[] _targetShape;
    readonly int _targetSize;

    /// <param name="inputs">All inputs, example after example.</param>
    /// <param name="exampleShape">The shape of one input, e.g. [2] or [1, 28, 28].</param>
    /// <param name="labels">One class label per example (for cross-entropy), or null.</param>
    /// <param name="targets">Targets, example after example (for a regression loss), or null.</param>
    /// <param name="targetShape">The shape of one target (default: [targets.Length / Count]).</param>
    public TensorDataset(float[] inputs, int[] exampleShape, int[]? labels = null, float[]? targets = null, int[]? targetShape = null)
    {
        _inputSize = exampleShape.Aggregate(1, (a, b) => a * b);
        if (exampleShape.Any(d => d <= 0) || inputs.Length % _inputSize != 0)
            throw new ArgumentException($"tensor dataset: {inputs.Length} input values do not split into examples of shape [{string.Join(", ", exampleShape)}]");
        Count = inputs.Length / _inputSize;
        if (labels == null && targets == null) throw new ArgumentException("tensor dataset: give labels, targets or both");
        if (labels != null && labels.Length != Count)
            throw new ArgumentException($"tensor dataset: {labels.Length} labels for {Count} examples");
        _targetShape = targetShape ?? [targets == null || Count == 0 ? 0 : targets.Length / Count];
        _targetSize = _targetShape.Aggregate(1, (a, b) => a * b);
        if (targets != null && targets.Length != (long)Count * _targetSize)
            throw new ArgumentException($"tensor dataset: {targets.Length} target values for {Count} examples of shape [{string.Join(", ", _targetShape)}]");
        _inputs = inputs; _exampleShape = exampleShape; _labels = labels; _targets = targets;
    }

    public int Count { get; }

    public Batch GetBatch(ReadOnlySpan<int> indices, Device device, Generator random)
    {
        int n = indices.Length;
        var x = new float[n * _inputSize];
        var y = _labels == null ? null : new int[n];
        var t = _targets == null ? null : new float[n * _targetSize];
        for (int i = 0; i < n; i++)
        {
            int e = indices[i];
            Array.Copy(_inputs, (long)e * _inputSize, x, (long)i * _inputSize, _inputSize);
            if (y != null) y[i] = _labels![e];
            if (t != null) Array.Copy(_targets!, (long)e * _targetSize, t, (long)i * _targetSize, _targetSize);
        }
        return new Batch(Tensor.FromArray(x, new Shape([n, .. _exampleShape]), device), y,
            t == null ? null : Tensor.FromArray(t, new Shape([n, .. _targetShape]), device));
    }
}
