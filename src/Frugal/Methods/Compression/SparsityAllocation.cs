namespace Frugal.Methods.Compression;

/// <summary>
/// Heterogeneous per-layer gradient sparsity under cosine-similarity floors with one global element-count budget
/// (Ben-Uri's M.Sc. thesis; Chmiel et al., ICLR 2021; ../shared/METHODS.md §1). Layers are visited in backward
/// order (the order their gradient hooks fire). A protected layer gets min(s, the sparsity at which its predicted
/// cosine reaches its floor). Each layer's realised zeros are accumulated, and every unprotected layer gets what is
/// left of the budget spread over the unprotected elements still to come:
/// s_l = (s·N − zeros realised so far − s·(protected elements still to come)) / (unprotected elements still to come),
/// clamped to [0, max sparsity]. So a layer that falls short (floor, zero fraction, cap) is made up by the later ones
/// while the cap allows; when every unprotected layer sits at the cap, the global target is not reached.
/// </summary>
/// <remarks>
/// The reference code hard-codes element counts per stage and never updates its accumulator, so its unprotected
/// layers always sit at the cap; this class does the accumulation the thesis describes, with counts measured from
/// the model's actual gradients. Which layers are protected is the caller's choice; <see cref="DefaultProtected"/>
/// is the rule the training method uses.
/// </remarks>
public sealed class SparsityAllocation
{
    public double Target { get; }
    public double MaxSparsity { get; }

    long[] _elements = [];
    bool[] _protected = [];
    bool[] _done = [];
    double _zerosDone;
    (int Layer, double Zeros) _planned = (-1, 0);    // the layer Next just allocated and its planned zeros

    public SparsityAllocation(double target, double maxSparsity)
    {
        if (!(target >= 0 && target < 1)) throw new ArgumentException($"sparsity_allocation: target must be in [0, 1), got {target}");
        if (!(maxSparsity > 0 && maxSparsity < 1)) throw new ArgumentException($"sparsity_allocation: max sparsity must be in (0, 1), got {maxSparsity}");
        Target = target;
        MaxSparsity = maxSparsity;
    }

    /// <summary>
    /// Protection rule for layers with gradient sizes <paramref name="elements"/>: a layer is unprotected when its
    /// gradient has more than half as many elements as the largest one — the full-resolution first stage (the
    /// large early layers the reference leaves unprotected: conv1 and stage 1 of a ResNet, the two 28×28 convs of
    /// the cnn). Downsampling by 2 with doubled channels halves the count, so every later stage is protected.
    /// A layer with no elements (not used this step) counts as neither.
    /// </summary>
    public static bool[] DefaultProtected(IReadOnlyList<long> elements)
    {
        long max = elements.Count == 0 ? 0 : elements.Max();
        return elements.Select(n => n > 0 && 2 * n <= max).ToArray();
    }

    /// <summary>Starts one allocation: the element count of every layer (0 = absent) and which are protected.</summary>
    public void Begin(IReadOnlyList<long> elements, IReadOnlyList<bool> protectedLayers)
    {
        if (elements.Count != protectedLayers.Count)
            throw new ArgumentException($"sparsity_allocation: {elements.Count} element counts but {protectedLayers.Count} protection flags");
        _elements = elements.ToArray();
        _protected = protectedLayers.ToArray();
        _done = new bool[_elements.Length];
        _zerosDone = 0;
        _planned = (-1, 0);
    }

    /// <summary>
    /// The overall sparsity (zeros included) for <paramref name="layer"/>, visited next. For a protected layer,
    /// <paramref name="floorSparsity"/> is the largest overall sparsity its cosine floor allows (ignored otherwise).
    /// Call <see cref="Realised"/> with the layer's actual zeros before the next layer; without it the planned
    /// zeros count as realised.
    /// </summary>
    public double Next(int layer, double floorSparsity = 1)
    {
        if ((uint)layer >= (uint)_elements.Length) throw new ArgumentException($"sparsity_allocation: layer {layer} is outside the {_elements.Length} layers of Begin");
        if (_done[layer]) throw new InvalidOperationException($"sparsity_allocation: layer {layer} was already allocated in this pass");
        double s;
        if (_protected[layer]) s = Math.Min(Target, Math.Max(0, floorSparsity));
        else
        {
            double protectedPending = 0, unprotectedPending = 0;
            for (int i = 0; i < _elements.Length; i++)
                if (!_done[i]) { if (_protected[i]) protectedPending += _elements[i]; else unprotectedPending += _elements[i]; }
            double budget = Target * _elements.Sum() - _zerosDone - Target * protectedPending;
            s = unprotectedPending > 0 ? Math.Clamp(budget / unprotectedPending, 0, MaxSparsity) : 0;
        }
        _done[layer] = true;
        _zerosDone += s * _elements[layer];
        _planned = (layer, s * _elements[layer]);
        return s;
    }

    /// <summary>Replaces the planned zeros of the layer just allocated by the zeros it actually has after pruning.</summary>
    public void Realised(int layer, long zeros)
    {
        if (_planned.Layer != layer) throw new InvalidOperationException($"sparsity_allocation: Realised({layer}) must follow Next({layer})");
        _zerosDone += zeros - _planned.Zeros;
        _planned = (-1, 0);
    }

    /// <summary>
    /// The whole plan at once for layers listed in backward order, assuming each realises its planned sparsity:
    /// for tests, reports and reasoning about the budget.
    /// </summary>
    public static double[] Plan(double target, double maxSparsity, IReadOnlyList<long> elements, IReadOnlyList<bool> protectedLayers,
                                IReadOnlyList<double> floorSparsity)
    {
        var a = new SparsityAllocation(target, maxSparsity);
        a.Begin(elements, protectedLayers);
        return Enumerable.Range(0, elements.Count).Select(i => a.Next(i, floorSparsity[i])).ToArray();
    }
}
