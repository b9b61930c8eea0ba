using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>
/// A layer or a model: named parameters, buffers and child modules, train/eval mode, and a state dict
/// keyed and shaped as PyTorch's (child names joined by '.'), so checkpoints load in PyTorch unchanged.
/// </summary>
public abstract class Module
{
    readonly List<(string Name, Tensor Tensor)> _parameters = [];
    readonly List<(string Name, Tensor Tensor)> _buffers = [];
    readonly List<(string Name, Module Module)> _children = [];

    public bool Training { get; private set; } = true;

    /// <summary>The layer's computation. Protected: the way to run a module is <see cref="Call"/>, which also runs
    /// its hooks (the gradient methods live in hooks, so a direct Forward would silently switch them off).</summary>
    protected abstract Tensor Forward(Tensor input);

    List<Func<Module, Tensor, Tensor>>? _forwardHooks;

    /// <summary>Whether a forward hook would see this module's output (containers fuse only unobserved layers).</summary>
    internal bool HasForwardHooks => _forwardHooks is { Count: > 0 };

    /// <summary>Runs the module: <see cref="Forward"/>, then the forward hooks in registration order (PyTorch's
    /// <c>module(x)</c>). Containers call their children through this, so a hook sees every call of the layer
    /// inside any model.</summary>
    public Tensor Call(Tensor input)
    {
        var y = Forward(input);
        if (_forwardHooks != null)
            foreach (var hook in _forwardHooks) y = hook(this, y);
        return y;
    }

    /// <summary>Registers a hook that sees, and may replace, this module's output (PyTorch's
    /// register_forward_hook). Gradient methods use it to hook the neural gradient of a layer's output.
    /// The handle removes this hook alone.</summary>
    public Autograd.RemovableHandle RegisterForwardHook(Func<Module, Tensor, Tensor> hook) =>
        Autograd.RemovableHandle.Add(hook, () => _forwardHooks, h => _forwardHooks = h);

    /// <summary>Registers a parameter (gradients on) under <paramref name="name"/>.</summary>
    protected Tensor Parameter(string name, Tensor value)
    {
        value.RequiresGrad = true;
        value.Name = name;
        _parameters.Add((name, value));
        return value;
    }

    /// <summary>Registers a buffer: saved in the state dict, not trained (e.g. BatchNorm running statistics).</summary>
    protected Tensor Buffer(string name, Tensor value)
    {
        value.Name = name;
        _buffers.Add((name, value));
        return value;
    }

    protected T Child<T>(string name, T module) where T : Module
    {
        _children.Add((name, module));
        return module;
    }

    public IEnumerable<(string Name, Module Module)> NamedChildren() => _children;

    /// <summary>Puts <paramref name="replacement"/> where the child <paramref name="name"/> was (PyTorch's
    /// setattr(parent, name, module)); approximate layers swap themselves in for exact ones this way.</summary>
    public void ReplaceChild(string name, Module replacement)
    {
        int i = _children.FindIndex(c => c.Name == name);
        if (i < 0) throw new ArgumentException($"replace_child: {GetType().Name} has no child '{name}' (children: {string.Join(", ", _children.Select(c => c.Name))})");
        replacement.Training = Training;
        _children[i] = (name, replacement);
        OnChildReplaced(name, replacement);
    }

    /// <summary>Called by <see cref="ReplaceChild"/> so containers that keep children in fields can follow.</summary>
    protected virtual void OnChildReplaced(string name, Module replacement) { }

    /// <summary>This module and all descendants, depth first, with their dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (n, c) in _children)
            foreach (var m in c.NamedModules(prefix.Length == 0 ? n : $"{prefix}.{n}"))
                yield return m;
    }

    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters()
    {
        foreach (var (prefix, m) in NamedModules())
            foreach (var (n, p) in m._parameters)
                yield return (prefix.Length == 0 ? n : $"{prefix}.{n}", p);
    }

    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers()
    {
        foreach (var (prefix, m) in NamedModules())
            foreach (var (n, b) in m._buffers)
                yield return (prefix.Length == 0 ? n : $"{prefix}.{n}", b);
    }

    /// <summary>Parameters and buffers by PyTorch state-dict key, in registration order.</summary>
    public IReadOnlyList<(string Key, Tensor Value)> StateDict() =>
        NamedModules().SelectMany(nm => nm.Module._parameters.Concat(nm.Module._buffers)
            .Select(p => (nm.Name.Length == 0 ? p.Name : $"{nm.Name}.{p.Name}", p.Tensor))).ToList();

    /// <summary>Copies values into this module's tensors. Missing or unexpected keys and shape mismatches
    /// are errors that name the key (strict, like PyTorch's default).</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var own = StateDict();
        var missing = own.Where(p => !state.ContainsKey(p.Key)).Select(p => p.Key).ToList();
        var unexpected = state.Keys.Except(own.Select(p => p.Key)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new ArgumentException($"load_state_dict: missing keys [{string.Join(", ", missing)}], unexpected keys [{string.Join(", ", unexpected)}]");
        foreach (var (key, t) in own)
        {
            var src = state[key];
            if (src.Shape != t.Shape) throw new ArgumentException($"load_state_dict: '{key}' has shape {src.Shape} in the checkpoint, {t.Shape} in the model");
            t.CopyFrom(src);
        }
    }

    public Module Train(bool on = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = on;
        return this;
    }

    public Module Eval() => Train(false);

    /// <summary>Sets this module's flag only, not its children's (restoring a saved mix of modes).</summary>
    internal void TrainSelf(bool on) => Training = on;

    /// <summary>Clears the gradients of all parameters (PyTorch's zero_grad(set_to_none=True)).</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.Grad = null;
    }

    /// <summary>Moves all parameters and buffers to <paramref name="device"/> in place.</summary>
    public Module To(Device device)
    {
        foreach (var (_, m) in NamedModules())
        {
            for (int i = 0; i < m._parameters.Count; i++)
            {
                var (n, p) = m._parameters[i];
                var moved = p.To(device);
                moved.RequiresGrad = true;
                m._parameters[i] = (n, moved);
                m.OnTensorMoved(n, moved);
            }
            for (int i = 0; i < m._buffers.Count; i++)
            {
                var (n, b) = m._buffers[i];
                var moved = b.To(device);
                m._buffers[i] = (n, moved);
                m.OnTensorMoved(n, moved);
            }
        }
        return this;
    }

    /// <summary>Called when <see cref="To"/> replaces a registered tensor, so fields that cache it can follow.</summary>
    protected virtual void OnTensorMoved(string name, Tensor moved) { }

    public override string ToString() => GetType().Name;
}
