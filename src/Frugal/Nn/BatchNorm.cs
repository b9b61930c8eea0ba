using Frugal.Backends;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>
/// Batch normalisation with PyTorch's parameters (weight = 1, bias = 0) and buffers (running_mean = 0,
/// running_var = 1, num_batches_tracked = 0), under PyTorch's state-dict names. Training mode uses batch
/// statistics and updates the running ones; evaluation mode uses the running statistics.
/// </summary>
public abstract class BatchNorm : Module
{
    public int NumFeatures { get; }
    public float Eps { get; }
    /// <summary>Weight of each batch's statistics in the running ones, r ← (1 − momentum)·r + momentum·s; settable, as in
    /// PyTorch (<see cref="BatchNormStatistics.Update"/> sets 1/i to average batches cumulatively).</summary>
    public float Momentum
    {
        get;
        set => field = value is >= 0 and <= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(Momentum), value, $"{GetType().Name}: momentum must be in [0, 1]");
    }
    public Tensor? Weight { get; private set; }
    public Tensor? Bias { get; private set; }
    public Tensor? RunningMean { get; private set; }
    public Tensor? RunningVar { get; private set; }
    /// <summary>
    /// Training forwards seen so far. PyTorch stores it as an int64 scalar; here it is a float32 scalar
    /// (exact up to 2²⁴ batches) and the safetensors writer converts it to int64.
    /// </summary>
    public Tensor? NumBatchesTracked { get; private set; }

    protected BatchNorm(int numFeatures, float eps, float momentum, bool affine, bool trackRunningStats)
    {
        if (numFeatures <= 0) throw new ArgumentException($"{GetType().Name}: num_features must be positive, got {numFeatures}");
        NumFeatures = numFeatures; Eps = eps; Momentum = momentum;
        if (affine)
        {
            Weight = Parameter("weight", Tensor.Ones(numFeatures));
            Bias = Parameter("bias", Tensor.Zeros(numFeatures));
        }
        if (trackRunningStats)
        {
            RunningMean = Buffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = Buffer("running_var", Tensor.Ones(numFeatures));
            NumBatchesTracked = Buffer("num_batches_tracked", Tensor.Scalar(0));
        }
    }

    /// <summary>Checks the input's rank (the subclass's accepted layouts).</summary>
    protected abstract void CheckInput(Tensor x);

    protected override Tensor Forward(Tensor x) => Normalise(x, relu: false);

    /// <summary>relu(this(x)) in one op (<see cref="Normalization.BatchNormRelu"/>): what <see cref="Sequential"/> runs for
    /// a batch norm followed by a ReLU when no hook observes the output in between.</summary>
    internal Tensor ForwardRelu(Tensor x) => Normalise(x, relu: true);

    Tensor Normalise(Tensor x, bool relu)
    {
        CheckInput(x);
        if (x.Shape[1] != NumFeatures)
            throw new ArgumentException($"{GetType().Name}({NumFeatures}): input {x.Shape} has {x.Shape[1]} channels, expected {NumFeatures}");
        if (Training && NumBatchesTracked != null)
            NumBatchesTracked.Backend.Map(UnaryOp.Affine, NumBatchesTracked, NumBatchesTracked, 1, 1);
        // As PyTorch: batch statistics in training or when no running statistics are kept.
        bool useBatch = Training || RunningMean == null;
        return relu ? x.BatchNormRelu(Weight, Bias, RunningMean, RunningVar, useBatch, Momentum, Eps)
                    : x.BatchNorm(Weight, Bias, RunningMean, RunningVar, useBatch, Momentum, Eps);
    }

    protected override void OnTensorMoved(string name, Tensor moved)
    {
        switch (name)
        {
            case "weight": Weight = moved; break;
            case "bias": Bias = moved; break;
            case "running_mean": RunningMean = moved; break;
            case "running_var": RunningVar = moved; break;
            case "num_batches_tracked": NumBatchesTracked = moved; break;
        }
    }

    public override string ToString() =>
        $"{GetType().Name}({NumFeatures}, eps={Eps}, momentum={Momentum}, affine={Weight != null}, track_running_stats={RunningMean != null})";
}

/// <summary>Batch norm over [N, C] or [N, C, L], statistics per feature C.</summary>
public sealed class BatchNorm1d(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
    : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats)
{
    protected override void CheckInput(Tensor x)
    {
        if (x.Rank is not (2 or 3)) throw new ArgumentException($"BatchNorm1d({NumFeatures}): expected 2-D or 3-D input, got {x.Shape}");
    }
}

/// <summary>Batch norm over [N, C, H, W], statistics per channel over N, H, W.</summary>
public sealed class BatchNorm2d(int numFeatures, float eps = 1e-5f, float momentum = 0.1f, bool affine = true, bool trackRunningStats = true)
    : BatchNorm(numFeatures, eps, momentum, affine, trackRunningStats)
{
    protected override void CheckInput(Tensor x)
    {
        if (x.Rank != 4) throw new ArgumentException($"BatchNorm2d({NumFeatures}): expected 4-D input [N, C, H, W], got {x.Shape}");
    }
}
