using System.Globalization;
using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Optim;

/// <summary>
/// Updates parameters in place from their gradients, as torch.optim does: parameters whose gradient is
/// null are skipped (their state and per-parameter step do not advance). Per-parameter state lives in
/// named buffers keyed by the parameter's index, exported by <see cref="StateDict"/> as
/// "state.{index}.{name}" plus "step" (the number of <see cref="Step"/> calls), so a run resumed from
/// a checkpoint continues exactly.
/// </summary>
public abstract class Optimizer
{
    readonly Dictionary<string, Tensor>[] _state;
    readonly int[] _parameterSteps;
    double _learningRate;

    protected Optimizer(IEnumerable<Tensor> parameters, double learningRate)
    {
        Parameters = parameters.ToList();
        if (Parameters.Count == 0) throw new ArgumentException($"{Name}: no parameters to optimise");
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < Parameters.Count; i++)
            if (!seen.Add(Parameters[i]))
                throw new ArgumentException($"{Name}: parameter {i} ({Parameters[i].Name ?? Parameters[i].Shape.ToString()}) appears twice; it would be updated twice per step");
        LearningRate = learningRate;
        _state = new Dictionary<string, Tensor>[Parameters.Count];
        for (int i = 0; i < _state.Length; i++) _state[i] = [];
        _parameterSteps = new int[Parameters.Count];
    }

    /// <summary>The optimizer's name in messages ("SGD", "Adam", "AdamW").</summary>
    public abstract string Name { get; }

    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The current learning rate; schedules set it before each step.</summary>
    public double LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentException($"{Name}: learning rate must be finite and ≥ 0, got {value}");
            _learningRate = value;
        }
    }

    /// <summary>Number of <see cref="Step"/> calls so far (the "step" key of the state dict).</summary>
    public int Steps { get; private set; }

    /// <summary>Updates every parameter that has a gradient, without recording autograd.</summary>
    public void Step()
    {
        using var _ = GradMode.NoGrad();
        for (int i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters[i];
            if (p.Grad is not { } grad) continue;
            if (grad.Shape != p.Shape || grad.Device != p.Device)
                throw new InvalidOperationException($"{Name}: parameter {i} ({p.Name ?? "unnamed"}) is {p.Shape} on {p.Device} but its gradient is {grad.Shape} on {grad.Device}");
            _parameterSteps[i]++;
            Update(i, p, grad, _parameterSteps[i]);
        }
        Steps++;
    }

    /// <summary>Applies one update to parameter <paramref name="index"/>; <paramref name="step"/> counts the
    /// updates of this parameter including this one (PyTorch's state['step']).</summary>
    protected abstract void Update(int index, Tensor param, Tensor grad, int step);

    /// <summary>Clears the gradients (PyTorch's zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.Grad = null;
    }

    // ---- state ------------------------------------------------------------------------------

    /// <summary>Names of the per-parameter buffers this optimizer may keep (e.g. "momentum_buffer").</summary>
    protected abstract IReadOnlyCollection<string> BufferNames { get; }

    /// <summary>Whether the per-parameter step count is state ("state.{i}.step"), as in Adam's bias correction.</summary>
    protected virtual bool SavesParameterSteps => false;

    /// <summary>The buffer <paramref name="name"/> of parameter <paramref name="index"/>, if it exists yet.</summary>
    protected Tensor? FindBuffer(int index, string name) => _state[index].GetValueOrDefault(name);

    /// <summary>The buffer <paramref name="name"/> of parameter <paramref name="index"/>, created zero-filled
    /// (shape and device of the parameter) on first use.</summary>
    protected Tensor Buffer(int index, string name)
    {
        if (!_state[index].TryGetValue(name, out var t))
        {
            var p = Parameters[index];
            _state[index][name] = t = Tensor.Zeros(p.Shape, p.Device);
        }
        return t;
    }

    /// <summary>
    /// The optimizer state: "step" (a scalar), and per parameter index i that has state,
    /// "state.i.{buffer}" (shaped like the parameter) and, where per-parameter steps matter,
    /// "state.i.step". Buffers are the live tensors, as in PyTorch: serialise or clone them before stepping on.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor> { ["step"] = Tensor.Scalar(Steps) };
        for (int i = 0; i < _state.Length; i++)
        {
            if (SavesParameterSteps && _parameterSteps[i] > 0) d[$"state.{i}.step"] = Tensor.Scalar(_parameterSteps[i]);
            foreach (var (name, t) in _state[i]) d[$"state.{i}.{name}"] = t;
        }
        return d;
    }

    /// <summary>
    /// Replaces the state with a copy of <paramref name="state"/> (from <see cref="StateDict"/> of an optimizer over
    /// the same parameters, on any device). Unknown keys, parameter indices out of range, shape mismatches and
    /// non-integral step counts are errors that name the key; a parameter absent from the dict starts fresh.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        if (!state.TryGetValue("step", out var stepTensor)) throw new ArgumentException($"{Name}: load_state_dict: key 'step' is missing");
        int steps = ReadCount("step", stepTensor);
        var buffers = new Dictionary<string, Tensor>[Parameters.Count];
        var paramSteps = new int[Parameters.Count];
        for (int i = 0; i < buffers.Length; i++) buffers[i] = [];
        foreach (var (key, value) in state)
        {
            if (key == "step") continue;
            var parts = key.Split('.');
            if (parts.Length != 3 || parts[0] != "state" || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int i))
                throw new ArgumentException($"{Name}: load_state_dict: unexpected key '{key}' (expected 'step' or 'state.<index>.<name>')");
            if (i >= Parameters.Count)
                throw new ArgumentException($"{Name}: load_state_dict: key '{key}' names parameter {i}, but this optimizer has {Parameters.Count}");
            var name = parts[2];
            if (name == "step" && SavesParameterSteps) { paramSteps[i] = ReadCount(key, value); continue; }
            if (!BufferNames.Contains(name))
                throw new ArgumentException($"{Name}: load_state_dict: unexpected key '{key}' ({Name} keeps [{string.Join(", ", BufferNames)}]{(SavesParameterSteps ? " and step" : "")})");
            var p = Parameters[i];
            if (value.Shape != p.Shape)
                throw new ArgumentException($"{Name}: load_state_dict: '{key}' has shape {value.Shape} in the checkpoint, parameter {i} ({p.Name ?? "unnamed"}) is {p.Shape}");
            var copy = Tensor.Empty(p.Shape, p.Device);
            copy.CopyFrom(value);
            buffers[i][name] = copy;
        }
        if (SavesParameterSteps)
            for (int i = 0; i < buffers.Length; i++)
                if ((buffers[i].Count > 0) != (paramSteps[i] > 0))
                    throw new ArgumentException($"{Name}: load_state_dict: parameter {i} has {(buffers[i].Count > 0 ? "buffers but no 'state." + i + ".step'" : "'state." + i + ".step' but no buffers")}");
        // Validated in full before anything changes, so a bad checkpoint leaves the optimizer as it was.
        Array.Copy(buffers, _state, buffers.Length);
        Array.Copy(paramSteps, _parameterSteps, paramSteps.Length);
        Steps = steps;
    }

    int ReadCount(string key, Tensor t)
    {
        if (t.Numel != 1) throw new ArgumentException($"{Name}: load_state_dict: '{key}' has shape {t.Shape}, expected a scalar step count");
        float v = t.Item();
        if (!(v >= 0) || v != MathF.Floor(v) || v > 1 << 24)
            throw new ArgumentException($"{Name}: load_state_dict: '{key}' = {v} is not a step count");
        return (int)v;
    }

    /// <summary>Throws unless <paramref name="value"/> is a finite number ≥ 0 (PyTorch's checks name the hyperparameter).</summary>
    protected void NonNegative(string what, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentException($"{Name}: {what} must be finite and ≥ 0, got {value}");
    }
}
