namespace Frugal.Methods.Approximate;

/// <summary>
/// The closed-form math of column-row sampling (Adelman, Levy, Hakimi, Silberstein, "Faster Neural Network Training
/// with Approximate Tensor Operations", NeurIPS 2021, arXiv 1805.08079; ../shared/METHODS.md §2), apart from the
/// layers that apply it. A product A·B (A: m×n, B: n×p) is the sum of n rank-one terms A[:,i]·B[i,:]; a_i =
/// ‖A[:,i]‖·‖B[i,:]‖ is the Frobenius norm of term i. Pure functions on host arrays.
/// </summary>
public static class SamplingMath
{
    /// <summary>Terms kept: k = min(n, max(minimal_k, ⌊keep·n⌋)) (METHODS.md §2; the reference code's int(n·ratio)).
    /// k = n means the exact product.</summary>
    public static int KeepCount(int n, double keep, int minimalK)
    {
        if (n < 0 || keep is <= 0 or > 1 || double.IsNaN(keep) || minimalK < 1)
            throw new ArgumentException($"keep_count: need n ≥ 0, keep in (0, 1] and minimal_k ≥ 1, got n={n}, keep={keep}, minimal_k={minimalK}");
        return Math.Min(n, Math.Max(minimalK, (int)Math.Floor(keep * n)));
    }

    /// <summary>a_i = √sa_i · √sb_i from the squared norms of the columns of A and the rows of B (the term norms).</summary>
    public static double[] PairWeights(ReadOnlySpan<float> squaredNormsA, ReadOnlySpan<float> squaredNormsB)
    {
        if (squaredNormsA.Length != squaredNormsB.Length)
            throw new ArgumentException($"pair_weights: {squaredNormsA.Length} column norms of A but {squaredNormsB.Length} row norms of B");
        var a = new double[squaredNormsA.Length];
        for (int i = 0; i < a.Length; i++) a[i] = Math.Sqrt(Math.Max(0, squaredNormsA[i])) * Math.Sqrt(Math.Max(0, squaredNormsB[i]));
        return a;
    }

    /// <summary>
    /// CRS sampling distribution: the optimal p_i = a_i / Σa (Drineas, Kannan, Mahoney 2006, Lemma 4; arXiv 1805.08079 §3),
    /// mixed with the uniform distribution as p ← (1 − ε)·p + ε/n when <paramref name="epsilon"/> &gt; 0 (the reference code
    /// uses ε = 0.1: it bounds the 1/(k·p) scaling and lets rarely chosen weights still learn).
    /// </summary>
    public static double[] CrsProbabilities(ReadOnlySpan<double> a, double epsilon = 0)
    {
        CheckEpsilon(epsilon, "crs_probabilities");
        double sum = 0;
        foreach (var v in a) sum += v;
        if (!(sum > 0)) throw new ArgumentException($"crs_probabilities: the weights must have a positive finite sum, got {sum}");
        var p = new double[a.Length];
        for (int i = 0; i < p.Length; i++) p[i] = (1 - epsilon) * a[i] / sum + epsilon / a.Length;
        return p;
    }

    /// <summary>
    /// Optimal Bernoulli-CRS probabilities by water-filling (METHODS.md §2; arXiv 1805.08079 §3, Bernoulli-CRS): minimise
    /// Σ (1 − p_i)/p_i·a_i² subject to Σ p_i = k, 0 &lt; p_i ≤ 1. The solution is p_i = min(1, β·a_i): sort a descending,
    /// clip the top j to 1, β = (k − j)/Σ_{i&gt;j} a_(i), with j the smallest count for which β·a_(j+1) ≤ 1.
    /// Needs 1 ≤ k ≤ (number of non-zero a_i); zero weights get p = 0.
    /// </summary>
    public static double[] WaterFilling(ReadOnlySpan<double> a, int k)
    {
        int n = a.Length, nnz = 0;
        foreach (var v in a)
        {
            if (!(v >= 0) || double.IsInfinity(v)) throw new ArgumentException($"water_filling: weights must be finite and ≥ 0, got {v}");
            if (v > 0) nnz++;
        }
        if (k < 1 || k > nnz) throw new ArgumentException($"water_filling: k = {k} must lie in [1, {nnz}] (the non-zero weights)");
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        var keys = new double[n];
        for (int i = 0; i < n; i++) keys[i] = -a[i];
        Array.Sort(keys, order);
        // suffix[j] = Σ_{t ≥ j} a_(t) in descending order.
        var suffix = new double[n + 1];
        for (int t = n - 1; t >= 0; t--) suffix[t] = suffix[t + 1] + a[order[t]];
        // j = k − 1 always qualifies (a_(k−1) ≤ suffix[k−1]), so the loop stops by then.
        double beta = 0;
        int clipped = 0;
        for (int j = 0; j < k; j++)
        {
            beta = (k - j) / suffix[j];
            clipped = j;
            if (beta * a[order[j]] <= 1) break;
        }
        var p = new double[n];
        for (int t = 0; t < n; t++) p[order[t]] = t < clipped ? 1 : Math.Min(1, beta * a[order[t]]);
        return p;
    }

    /// <summary>
    /// The reference code's Bernoulli probabilities (adelmanm/approx, linear_bernoulli_sampling): one clip
    /// p_i = min(1, k·a_i/Σa), then p ← (1 − ε)·p + ε/n. Unlike <see cref="WaterFilling"/>, Σp is not k: clipping
    /// loses mass and the mix adds ε − ε·Σp_clip, so the expected count is (1 − ε)·Σ min(1, k·a_i/Σa) + ε.
    /// </summary>
    public static double[] ReferenceBernoulliProbabilities(ReadOnlySpan<double> a, int k, double epsilon)
    {
        CheckEpsilon(epsilon, "reference_bernoulli_probabilities");
        double sum = 0;
        foreach (var v in a) sum += v;
        if (!(sum > 0)) throw new ArgumentException($"reference_bernoulli_probabilities: the weights must have a positive finite sum, got {sum}");
        var p = new double[a.Length];
        for (int i = 0; i < p.Length; i++) p[i] = (1 - epsilon) * Math.Min(1, k * a[i] / sum) + epsilon / a.Length;
        return p;
    }

    /// <summary>
    /// Expected squared error of CRS with k i.i.d. draws from p: E‖AB − Σ_t A[:,i_t]B[i_t,:]/(k·p_{i_t})‖²_F =
    /// (1/k)·(Σ a_i²/p_i − ‖AB‖²_F) (Drineas, Kannan, Mahoney 2006, Lemma 3). With the optimal p = a/Σa this is
    /// (1/k)·((Σa)² − ‖AB‖²_F), METHODS.md §2's table. Terms with p_i = 0 must have a_i = 0 (they are skipped).
    /// </summary>
    public static double CrsExpectedSquaredError(ReadOnlySpan<double> a, ReadOnlySpan<double> p, int k, double exactSquaredNorm)
    {
        SameLength(a, p, "crs_expected_squared_error");
        double s = 0;
        for (int i = 0; i < a.Length; i++) if (a[i] > 0) s += a[i] * a[i] / p[i];
        return (s - exactSquaredNorm) / k;
    }

    /// <summary>
    /// Expected squared error of Bernoulli-CRS, which keeps term i independently with probability p_i and scales it by
    /// 1/p_i: E‖err‖²_F = Σ (1 − p_i)/p_i · a_i² (the terms' errors are independent with mean zero; METHODS.md §2).
    /// </summary>
    public static double BernoulliExpectedSquaredError(ReadOnlySpan<double> a, ReadOnlySpan<double> p)
    {
        SameLength(a, p, "bernoulli_expected_squared_error");
        double s = 0;
        for (int i = 0; i < a.Length; i++) if (a[i] > 0) s += (1 - p[i]) / p[i] * a[i] * a[i];
        return s;
    }

    /// <summary>Top-k CRS error bound: ‖AB − A[:,S]B[S,:]‖_F ≤ Σ_{i∉S} a_i (triangle inequality over the dropped
    /// terms; keeping the k largest a_i minimises the bound; METHODS.md §2).</summary>
    public static double TopKErrorBound(ReadOnlySpan<double> a, IReadOnlyCollection<int> kept)
    {
        var set = kept as ISet<int> ?? new HashSet<int>(kept);
        double s = 0;
        for (int i = 0; i < a.Length; i++) if (!set.Contains(i)) s += a[i];
        return s;
    }

    /// <summary>
    /// Bernoulli-CRS in linear regression is a dynamic ridge (METHODS.md §2): for y ≈ X·diag(z/p)·w with z_i ~ Bernoulli(p_i),
    /// E_z ½‖X·diag(z/p)·w − y‖² = ½‖Xw − y‖² + ½ Σ_i D_i·w_i² with D_i = (1 − p_i)/p_i · ‖X[:,i]‖², since
    /// Var(z_i/p_i) = (1 − p_i)/p_i. The minimiser is (XᵀX + diag(D))⁻¹Xᵀy.
    /// </summary>
    public static double[] RidgePenalty(ReadOnlySpan<double> p, ReadOnlySpan<double> columnSquaredNorms)
    {
        SameLength(p, columnSquaredNorms, "ridge_penalty");
        var d = new double[p.Length];
        for (int i = 0; i < d.Length; i++) d[i] = (1 - p[i]) / p[i] * columnSquaredNorms[i];
        return d;
    }

    static void CheckEpsilon(double epsilon, string op)
    {
        if (epsilon is < 0 or >= 1 || double.IsNaN(epsilon)) throw new ArgumentException($"{op}: epsilon must be in [0, 1), got {epsilon}");
    }

    static void SameLength(ReadOnlySpan<double> a, ReadOnlySpan<double> b, string op)
    {
        if (a.Length != b.Length) throw new ArgumentException($"{op}: {a.Length} weights but {b.Length} probabilities");
    }
}
