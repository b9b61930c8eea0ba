using Frugal.Runs;
using Frugal.Training;
using Spectre.Console;

namespace Frugal.Cli;

/// <summary>
/// Live progress of a run: a Spectre.Console bar per epoch with loss and samples/s when the output is a
/// terminal; plain lines (one per epoch, and every ~10% of an epoch) when it is redirected.
/// </summary>
sealed class ConsoleProgress(TrainOptions o, Frugal.Distributed.IProcessGroup group) : ITrainingCallback
{
    readonly bool _interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
    ProgressTask? _task;
    ProgressContext? _ctx;
    int _lastPlain;

    public void Attach(ProgressContext ctx) => _ctx = ctx;
    public bool Interactive => _interactive;

    public void OnRunStart(int startEpoch, int epochs, int batches) =>
        Line($"train: model {o.Model}, {epochs} epochs, batch {o.BatchSize}{Parallel}, {batches} steps/epoch, {Frugal.Options.EnumNames<OptimizerKind>.Name(o.Optimizer)} lr {o.LearningRate}, {Frugal.Backends.BackendRegistry.Get(Frugal.Tensors.Device.Parse(o.Device)).Description}");

    /// <summary>A hint when column-row sampling runs in the forward pass of a model with batch norms and their statistics
    /// are not re-estimated: training accumulates them over sampled forwards, evaluation runs the exact layers.</summary>
    public static string? BatchNormNote(TrainOptions o, Frugal.Nn.Module model) =>
        o.Approx is { Mode: not Frugal.Methods.Approximate.ApproxMode.Backward } && o.BnRecalibrate == 0
        && model.NamedModules().Any(m => m.Module is Frugal.Nn.BatchNorm)
            ? "note: forward sampling trains the batch norms' running statistics on sampled forwards, evaluation runs the exact layers; " +
              "--bn-recalibrate 50 re-estimates them before each evaluation (the cnn, top-k 0.5: -0.38 instead of -0.97 pp, docs/RESULTS.md)"
            : null;

    /// <summary>", per rank × 2 micro-batches, 4 ranks (Open MPI …), exchange fp8", or nothing for a plain run.</summary>
    string Parallel
    {
        get
        {
            int micro = o.DataParallel?.MicroBatches ?? 1;
            if (group.Size == 1 && micro == 1 && o.DropCompute == null)
                return o.Exchange == null ? "" : $", one process: the exchange ({o.Exchange.Compressor}) applies under mpirun only";
            return $" per rank{(micro > 1 ? $" × {micro} micro-batches" : "")}, {group.Description}, exchange {o.Exchange?.Compressor ?? "none"}" +
                   (o.DropCompute is { } d ? $", drop_compute {d.Mode.ToString().ToLowerInvariant()}" : "");
        }
    }

    public void OnBatchEnd(int epoch, int batch, int batches, double loss, double sps)
    {
        if (_ctx != null)
        {
            _task ??= _ctx.AddTask($"epoch {epoch}", maxValue: batches);
            _task.Value = batch;
            _task.Description = $"epoch {epoch}  loss {loss:F4}  {sps:F0} samples/s";
            return;
        }
        int decile = batch * 10 / batches;
        if (decile > _lastPlain && batch < batches)
        {
            _lastPlain = decile;
            Console.WriteLine($"  epoch {epoch} [{batch}/{batches}] loss {loss:F4} {sps:F0} samples/s");
        }
    }

    public void OnEvaluate(int epoch)
    {
        if (_task != null) _task.Description = $"epoch {epoch}  evaluating…";
    }

    public void OnEpochEnd(EpochMetrics m)
    {
        if (_task != null)
        {
            _task.Description = $"epoch {m.Epoch}  loss {m.TrainLoss:F4}  test acc {100 * m.TestAccuracy:F2}%  {m.SamplesPerSecond:F0} samples/s";
            _task.Value = _task.MaxValue;
            _task.StopTask();
            _task = null;
        }
        _lastPlain = 0;
        Line($"epoch {m.Epoch}: train loss {m.TrainLoss:F4}, test loss {m.TestLoss:F4}, test acc {100 * m.TestAccuracy:F2}%, {m.SamplesPerSecond:F0} samples/s, {m.Seconds:F1} s{Exchange(m)}");
    }

    /// <summary>", 1.9 MB/step on the wire, 12% dropped" for a data-parallel epoch; the local heads' test accuracy of a partition-wise one.</summary>
    static string Exchange(EpochMetrics m)
    {
        if (m.Extra == null) return "";
        var parts = new List<string>();
        if (m.Extra.TryGetValue("wire_bytes_per_step", out var wire) && m.Extra.TryGetValue("ranks", out var ranks) && Convert.ToInt32(ranks) > 1)
            parts.Add($"{Convert.ToDouble(wire) / 1e6:F2} MB/step on the wire");
        if (m.Extra.TryGetValue("approx_auto_keeps", out var keeps)) parts.Add($"approx auto keeps {keeps}");
        if (m.Extra.TryGetValue("drop_rate", out var drop)) parts.Add($"{100 * Convert.ToDouble(drop):F1}% of micro-batches dropped");
        if (m.Extra.TryGetValue("partitions", out var k))
            parts.Add($"{k} partitions, local test acc " + string.Join("/", Enumerable.Range(1, Convert.ToInt32(k))
                .Select(p => m.Extra.TryGetValue($"partition{p}_test_accuracy", out var a) ? $"{100 * Convert.ToDouble(a):F1}" : "?")) + "%");
        return parts.Count == 0 ? "" : ", " + string.Join(", ", parts);
    }

    public void OnMessage(string message) => Line(message);

    void Line(string s)
    {
        if (_interactive) AnsiConsole.MarkupLine(Markup.Escape(s));
        else Console.WriteLine(s);
    }
}
