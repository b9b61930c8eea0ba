using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Autograd;

/// <summary>Reverse-mode sweep over the tape recorded by <see cref="Function.Record"/>.</summary>
static class Engine
{
    public static void Backward(Tensor root, Tensor? gradient)
    {
        if (!root.RequiresGrad)
            throw new InvalidOperationException("backward: tensor does not require grad (no input of the graph has RequiresGrad = true)");
        if (gradient == null)
        {
            if (root.Numel != 1) throw new ArgumentException($"backward: output of shape {root.Shape} is not a scalar; pass its gradient");
            gradient = Tensor.Full(root.Shape, 1f, root.Device);
        }
        else if (gradient.Shape != root.Shape)
            throw new ArgumentException($"backward: gradient shape {gradient.Shape} differs from output shape {root.Shape}");

        var (order, consumers) = TopologicalOrder(root);
        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance) { [root] = gradient };
        HashSet<Tensor>? prunedByProducer = null;
        using var _ = GradMode.NoGrad();
        foreach (var t in order)
        {
            if (!grads.Remove(t, out var g)) continue;
            if (t.Hooks != null && prunedByProducer?.Remove(t) != true)
                foreach (var hook in t.Hooks)
                {
                    g = hook(g);
                    if (g.Shape != t.Shape) throw new InvalidOperationException($"hook: returned gradient of shape {g.Shape} for a tensor of shape {t.Shape}");
                }
            var fn = t.GradFn;
            if (fn == null)
            {
                t.Grad = t.Grad == null ? g : t.Grad.Add(g);
                if (t.PostAccumulateHooks != null) foreach (var hook in t.PostAccumulateHooks) hook(t);
                continue;
            }
            long t0 = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            var fused = FusablePrune(fn, consumers);
            fn.InputGradientPrune = fused?.Prune;
            var inputGrads = fn.Backward(g);
            fn.InputGradientPrune = null;
            if (Profiler.Enabled) Profiler.Add("backward " + fn.GetType().Name, t0);
            if (fused is { } f && inputGrads.Length > 0 && inputGrads[0] is { } pruned)
            {
                f.Hook.Pruned(Pruning.ReadStats(f.Prune.Stats, pruned.Numel));
                (prunedByProducer ??= new(ReferenceEqualityComparer.Instance)).Add(fn.Inputs[0]);
            }
            if (inputGrads.Length != fn.Inputs.Count)
                throw new InvalidOperationException($"{fn.GetType().Name}.Backward returned {inputGrads.Length} gradients for {fn.Inputs.Count} inputs");
            for (int i = 0; i < inputGrads.Length; i++)
            {
                var input = fn.Inputs[i];
                var ig = inputGrads[i];
                if (ig == null || !input.RequiresGrad) continue;
                if (ig.Shape != input.Shape)
                    throw new InvalidOperationException($"{fn.GetType().Name}.Backward: gradient {i} has shape {ig.Shape}, input has {input.Shape}");
                grads[input] = grads.TryGetValue(input, out var acc) ? acc.Add(ig) : ig;
            }
            // Free the graph as we go (PyTorch's retain_graph=False): saved tensors die here.
            fn.Release();
            t.GradFn = null;
        }
    }

    /// <summary>The prune hook of <paramref name="fn"/>'s input 0 that fn's backward may apply itself: fn can, the input
    /// gets its gradient from fn alone, the hook is its only one and it has a plan for this gradient.</summary>
    static (PruneGradientHook Hook, Backends.GradientPrune Prune)? FusablePrune(Function fn, Dictionary<Tensor, int> consumers)
    {
        if (!fn.CanPruneInputGradient || fn.Inputs.Count == 0) return null;
        var input = fn.Inputs[0];
        if (!input.RequiresGrad || consumers.GetValueOrDefault(input) != 1 || input.OnlyPruneHook is not { } hook) return null;
        if (hook.Plan() is not { } plan) return null;
        var stats = Tensor.Uninitialized(new Shape(4), input.Device);
        return (hook, new Backends.GradientPrune(plan.Kind, plan.Threshold, plan.Seed, stats));
    }

    /// <summary>Tensors reachable from root, each after every tensor that consumes it, and how many inputs of the
    /// graph's functions each one is (a tensor used twice by one function counts twice).</summary>
    static (List<Tensor> Order, Dictionary<Tensor, int> Consumers) TopologicalOrder(Tensor root)
    {
        var post = new List<Tensor>();
        var consumers = new Dictionary<Tensor, int>(ReferenceEqualityComparer.Instance);
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { root };
        var stack = new Stack<(Tensor, int)>();
        stack.Push((root, 0));
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.GradFn?.Inputs;
            if (inputs != null && next < inputs.Count)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (!child.RequiresGrad) continue;
                consumers[child] = consumers.GetValueOrDefault(child) + 1;
                if (seen.Add(child)) stack.Push((child, 0));
            }
            else post.Add(t);
        }
        post.Reverse();
        return (post, consumers);
    }
}
