using System.Diagnostics;

namespace Frugal.Distributed.Stragglers;

/// <summary>
/// DropCompute (Giladi et al., NeurIPS 2023; ../shared/METHODS.md §3) on one worker: the policy a training loop asks,
/// around each of the step's M accumulated micro-batches, whether to go on. The compute timer starts at
/// <see cref="BeginStep"/> (the caller syncs the device first); once it passes τ no further micro-batch is drawn
/// (<see cref="BeforeMicroBatch"/>: the data iterator keeps them for the next step), and a micro-batch whose forward
/// ended after τ is discarded before its backward (<see cref="BeforeBackward"/>). The gradient is then all-reduced as
/// usual: τ is the same on every rank, so no extra coordination is needed. Nothing is dropped in the first
/// <see cref="DropComputeOptions.WarmupSteps"/> steps. Automatic τ: the next
/// <see cref="DropComputeOptions.CalibrationSteps"/> steps record every micro-batch latency, and at the end of the last
/// one every rank all-gathers them and computes the same τ (<see cref="AutoThreshold"/>). The random-drop mode zeroes
/// a whole rank's gradient with probability p per step instead (<see cref="DiscardGradient"/>). Straggler injection
/// sleeps after each micro-batch (<see cref="StragglerDelay"/>), never past τ; it counts as compute time.
/// </summary>
public sealed class DropCompute
{
    const ulong RandomDropStream = 0x52414E44524F5021UL;   // "RANDROP!": the random-drop mode's draws

    readonly DropComputeOptions _options;
    readonly IProcessGroup _group;
    readonly ulong _seed;
    readonly StragglerDelay _delay;
    readonly Func<double> _clock;
    readonly Action<double> _sleep;
    readonly double[]? _calibration;   // this rank's latencies [calibration step, micro-batch], seconds
    double _calibrationStepSeconds;

    long _step;             // steps ended so far = the index of the current one
    bool _inStep, _stopped;
    int _drawn;             // micro-batches begun this step
    bool _inMicroBatch;
    double _stepStart, _microStart, _computeEnd, _injected;

    // This epoch's figures.
    long _epochSteps, _epochNominal, _epochContributed, _epochDiscardedSteps, _epochShortSteps;
    double _epochComputeSeconds, _epochInjectedSeconds;

    /// <summary>A worker's policy timed by <see cref="Stopwatch"/>, sleeping with <see cref="Thread.Sleep(TimeSpan)"/>.</summary>
    public DropCompute(DropComputeOptions options, int microBatches, IProcessGroup group, ulong seed)
        : this(options, microBatches, group, seed, clock: null, sleep: null) { }

    /// <summary>The same with a clock (seconds, monotonic) and a sleep of its own: a virtual clock makes a test or a
    /// replay deterministic.</summary>
    public DropCompute(DropComputeOptions options, int microBatches, IProcessGroup group, ulong seed,
        Func<double>? clock, Action<double>? sleep)
    {
        _options = options.Validate(microBatches);
        _group = group;
        _seed = seed;
        MicroBatches = microBatches;
        _delay = new StragglerDelay(seed);
        _clock = clock ?? (() => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency);
        _sleep = sleep ?? (s => Thread.Sleep(TimeSpan.FromSeconds(s)));
        if (options.Mode == DropComputeMode.Fixed) Threshold = options.Threshold;
        if (options.Mode == DropComputeMode.Auto) _calibration = new double[options.CalibrationSteps * microBatches];
    }

    public DropComputeOptions Options => _options;
    public int MicroBatches { get; }
    /// <summary>τ in seconds once known: from the start when fixed, after calibration when automatic; null before
    /// (and always in the random-drop and off modes).</summary>
    public double? Threshold { get; private set; }
    /// <summary>What the calibration data predicted for the automatic τ; null until it is chosen.</summary>
    public AutoThreshold.Choice? Calibration { get; private set; }
    /// <summary>The index of the current (or next) step, counted from 0 by <see cref="EndStep"/>.</summary>
    public long Step => _step;
    /// <summary>Micro-batches whose backward ran this step (accumulated into the gradient).</summary>
    public int Completed { get; private set; }
    /// <summary>Random-drop mode: this rank's whole gradient is zeroed this step (still averaged over N).</summary>
    public bool DiscardGradient { get; private set; }
    /// <summary>Micro-batches this rank contributes to the all-reduced gradient: <see cref="Completed"/>, or 0 when
    /// the gradient is discarded. In <see cref="DropComputeNormalization.Actual"/> mode this is the scalar the caller
    /// appends to its gradient buffer, so the all-reduce also sums the global count.</summary>
    public int Contributed => DiscardGradient ? 0 : Completed;
    /// <summary>Seconds since <see cref="BeginStep"/>, injected sleeps included.</summary>
    public double Elapsed => _clock() - _stepStart;

    bool Dropping => Threshold != null && _step >= _options.WarmupSteps;
    bool Injecting => _options.StragglerDelay > 0 && _step >= _options.WarmupSteps;
    bool Calibrating => _calibration != null && Threshold == null && _step >= _options.WarmupSteps;

    /// <summary>Starts the step's compute timer; call it after syncing the device, before the first micro-batch.</summary>
    public void BeginStep()
    {
        if (_inStep) throw new InvalidOperationException($"DropCompute: step {_step} began twice; call EndStep first");
        _inStep = true;
        _stopped = _inMicroBatch = false;
        _drawn = Completed = 0;
        _injected = 0;
        DiscardGradient = _options.Mode == DropComputeMode.Random && _step >= _options.WarmupSteps
            && CounterRandom.Uniform(_seed, RandomDropStream, _group.Rank, _step, 0) < _options.DropRate;
        _stepStart = _computeEnd = _clock();
    }

    /// <summary>Whether to draw and run another micro-batch: false once τ has passed (or all M have run); the
    /// remaining micro-batches are not drawn this step.</summary>
    public bool BeforeMicroBatch()
    {
        if (!_inStep) throw new InvalidOperationException("DropCompute: BeforeMicroBatch outside a step; call BeginStep first");
        if (_inMicroBatch) throw new InvalidOperationException($"DropCompute: micro-batch {_drawn} still running; call AfterMicroBatch first");
        if (_stopped || _drawn == MicroBatches) return false;
        if (Dropping && Elapsed >= Threshold) { _stopped = true; _computeEnd = _clock(); return false; }
        _drawn++;
        _inMicroBatch = true;
        _microStart = _clock();
        return true;
    }

    /// <summary>Whether to run the backward of the micro-batch whose forward just ended: false when τ has passed, and
    /// the micro-batch is discarded (no further one is drawn this step). Always true with
    /// <see cref="DropComputeOptions.CheckBeforeBackward"/> off.</summary>
    public bool BeforeBackward()
    {
        if (!_inMicroBatch) throw new InvalidOperationException("DropCompute: BeforeBackward outside a micro-batch; call BeforeMicroBatch first");
        if (!_options.CheckBeforeBackward || !Dropping || !(Elapsed >= Threshold)) return true;
        _stopped = true;
        _inMicroBatch = false;
        _computeEnd = _clock();
        return false;
    }

    /// <summary>Ends a micro-batch whose backward ran: injects the straggler sleep X·t·0.5·F (truncated so the
    /// elapsed time does not pass τ), then records the micro-batch's latency, sleep included (what calibration sees).</summary>
    public void AfterMicroBatch()
    {
        if (!_inMicroBatch) throw new InvalidOperationException("DropCompute: AfterMicroBatch without a running micro-batch (or after BeforeBackward refused it)");
        _inMicroBatch = false;
        Completed++;
        int m = _drawn - 1;
        if (Injecting)
        {
            double sleep = _delay.Sleep(_clock() - _microStart, _options.StragglerDelay, _group.Rank, _step, m);
            if (Dropping)
            {
                // A sleep that reaches τ ends the step's compute there (comparing the clock with τ afterwards could
                // miss by rounding, or by nothing at all on a virtual clock, and start a micro-batch only to discard it).
                double left = Math.Max(0, Threshold!.Value - Elapsed);
                if (sleep > 0 && sleep >= left) { sleep = left; _stopped = true; }
            }
            if (sleep > 0) { _sleep(sleep); _injected += sleep; }
        }
        if (Calibrating) _calibration![(_step - _options.WarmupSteps) * MicroBatches + m] = _clock() - _microStart;
        _computeEnd = _clock();
    }

    /// <summary>
    /// Ends the step; <paramref name="stepSeconds"/> is its whole wall time (compute, communication, optimizer), which
    /// gives automatic τ the per-step overhead. At the end of the last calibration step every rank all-gathers the
    /// latencies (one collective, at the same step on every rank) and sets the same τ.
    /// </summary>
    public void EndStep(double stepSeconds)
    {
        if (!_inStep) throw new InvalidOperationException("DropCompute: EndStep without BeginStep");
        if (_inMicroBatch) throw new InvalidOperationException($"DropCompute: micro-batch {_drawn} still running at EndStep; call AfterMicroBatch first");
        _epochSteps++;
        _epochNominal += MicroBatches;
        _epochContributed += Contributed;
        if (DiscardGradient) _epochDiscardedSteps++;
        if (Completed < MicroBatches) _epochShortSteps++;
        _epochComputeSeconds += _computeEnd - _stepStart;
        _epochInjectedSeconds += _injected;
        bool calibrating = Calibrating;
        if (calibrating) _calibrationStepSeconds += stepSeconds;
        _inStep = false;
        _step++;
        if (calibrating && _step == _options.WarmupSteps + _options.CalibrationSteps) Calibrate();
    }

    /// <summary>The number the summed (all-reduced) gradient of M micro-batch means per rank is divided by: N·M
    /// (<see cref="DropComputeNormalization.Nominal"/>), or the global count of contributing micro-batches
    /// (<see cref="DropComputeNormalization.Actual"/>; N·M when nothing contributed, since the gradient is zero then).</summary>
    public double Divisor(double globalContributed) =>
        _options.Normalization == DropComputeNormalization.Actual && globalContributed > 0
            ? globalContributed
            : (double)_group.Size * MicroBatches;

    /// <summary>Adds this epoch's figures of this rank (drop_rate: share of nominal micro-batches that did not
    /// contribute; drop_threshold_seconds; drop_completed_mean; drop_short_steps; drop_compute_seconds (from the step's start to its last micro-batch's end, sleeps included) and
    /// drop_injected_seconds per step; drop_discarded_steps in random mode; drop_calibration once τ is chosen
    /// automatically) and starts afresh.</summary>
    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        if (_epochSteps == 0) return;
        figures["drop_rate"] = 1 - (double)_epochContributed / _epochNominal;
        if (Threshold is { } tau) figures["drop_threshold_seconds"] = tau;
        figures["drop_completed_mean"] = (double)_epochContributed / _epochSteps;
        figures["drop_short_steps"] = _epochShortSteps;
        figures["drop_compute_seconds"] = _epochComputeSeconds / _epochSteps;
        figures["drop_injected_seconds"] = _epochInjectedSeconds / _epochSteps;
        if (_options.Mode == DropComputeMode.Random) figures["drop_discarded_steps"] = _epochDiscardedSteps;
        if (Calibration is { } c)
            figures["drop_calibration"] = new Dictionary<string, object>
            {
                ["steps"] = _options.CalibrationSteps, ["threshold_seconds"] = c.Threshold,
                ["predicted_speedup"] = 1 + c.Score, ["predicted_drop_rate"] = c.DropRate, ["predicted_time_saved"] = c.TimeSaved,
            };
        _epochSteps = _epochNominal = _epochContributed = _epochDiscardedSteps = _epochShortSteps = 0;
        _epochComputeSeconds = _epochInjectedSeconds = 0;
    }

    /// <summary>All-gathers every rank's calibration latencies and mean step time, and chooses τ from them: the same
    /// bits reach every rank, so every rank chooses the same τ.</summary>
    void Calibrate()
    {
        int steps = _options.CalibrationSteps, perRank = steps * MicroBatches + 1, workers = _group.Size;
        var send = new double[perRank];
        _calibration!.CopyTo(send, 0);
        send[^1] = _calibrationStepSeconds / steps;
        var all = new double[workers * perRank];
        _group.AllGather<double>(send, all);
        var cumulative = new double[workers * steps * MicroBatches];
        double meanStep = 0;
        for (int n = 0; n < workers; n++)
        {
            all.AsSpan(n * perRank, perRank - 1).CopyTo(cumulative.AsSpan(n * (perRank - 1)));
            meanStep += all[n * perRank + perRank - 1] / workers;
        }
        AutoThreshold.Accumulate(cumulative, MicroBatches);
        // Overhead = measured step time − mean over steps of the slowest worker's compute (the reference's).
        double meanCompute = 0;
        for (int s = 0; s < steps; s++)
        {
            double slowest = 0;
            for (int n = 0; n < workers; n++) slowest = Math.Max(slowest, cumulative[(n * steps + s) * MicroBatches + MicroBatches - 1]);
            meanCompute += slowest / steps;
        }
        var choice = AutoThreshold.Choose(cumulative, workers, steps, MicroBatches, Math.Max(0, meanStep - meanCompute));
        Calibration = choice;
        Threshold = choice.Threshold;
    }
}
