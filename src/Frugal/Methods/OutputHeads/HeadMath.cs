namespace Frugal.Methods.OutputHeads;

/// <summary>
/// The element-wise heads of ../shared/METHODS.md §4.2 (Øland, arXiv 1707.04199) as scalar formulas in double: the
/// reference the tensor kernels of <see cref="OutputHead"/> are tested against. For output y and target t ∈ {0, 1}
/// each head transforms z (e = y − t; for exp, y itself) by f and has the loss F with F' = f:
/// linear-mse f = e, F = e²/2; exp f = exp(y) − t, F = exp(y) − t·y; exp-boost (PROPOSAL) f = sign(e)(exp(α|e|) − 1),
/// F = (exp(α|e|) − 1 − α|e|)/α; cube (PROPOSAL) f = e³, F = e⁴/4.
/// Clipping: z_c = clamp(z, lo, hi) and ℓ = F(z_c) + f(z_c)·(z − z_c), the loss continued along its tangent past
/// the clip, so ∂ℓ/∂y = f(z_c) everywhere: a real (convex, C¹) loss whose gradient is the clipped transformed error.
/// </summary>
public static class HeadMath
{
    /// <summary>The range z is clipped to: [−c, c] for the heads of e; for exp only y ≤ c (below −c exp(y) is already
    /// near 0, and a floor would push the other classes' outputs down without end). c = 0: no clip.</summary>
    public static (double Lo, double Hi) ClipRange(HeadKind kind, double clip) =>
        clip == 0 ? (double.NegativeInfinity, double.PositiveInfinity)
        : kind == HeadKind.Exp ? (double.NegativeInfinity, clip) : (-clip, clip);

    /// <summary>∂ℓ/∂y, the error the head back-propagates for one output.</summary>
    public static double Gradient(HeadKind kind, double y, double t, double alpha, double clip)
    {
        var (z, zc) = Clipped(kind, y, t, clip);
        return Transform(kind, zc, alpha) - (kind == HeadKind.Exp ? t : 0);
    }

    /// <summary>ℓ(y, t) for one output.</summary>
    public static double Loss(HeadKind kind, double y, double t, double alpha, double clip)
    {
        var (z, zc) = Clipped(kind, y, t, clip);
        double f = Transform(kind, zc, alpha);
        double primitive = kind switch
        {
            HeadKind.LinearMse => zc * zc / 2,
            HeadKind.Exp => Math.Exp(zc),
            HeadKind.ExpBoost => (Math.Exp(alpha * Math.Abs(zc)) - 1 - alpha * Math.Abs(zc)) / alpha,
            HeadKind.Cube => Math.Pow(zc, 4) / 4,
            _ => throw NotElementWise(kind),
        };
        return primitive + f * (z - zc) - (kind == HeadKind.Exp ? t * y : 0);
    }

    /// <summary>f(z): the transform of the (clipped) error, without exp's −t.</summary>
    static double Transform(HeadKind kind, double z, double alpha) => kind switch
    {
        HeadKind.LinearMse => z,
        HeadKind.Exp => Math.Exp(z),
        HeadKind.ExpBoost => Math.Sign(z) * (Math.Exp(alpha * Math.Abs(z)) - 1),
        HeadKind.Cube => z * z * z,
        _ => throw NotElementWise(kind),
    };

    static (double Z, double Clipped) Clipped(HeadKind kind, double y, double t, double clip)
    {
        double z = kind == HeadKind.Exp ? y : y - t;
        var (lo, hi) = ClipRange(kind, clip);
        return (z, Math.Clamp(z, lo, hi));
    }

    static ArgumentException NotElementWise(HeadKind kind) =>
        new($"head math: {kind} is not an element-wise head (softmax normalises over the classes)");
}
