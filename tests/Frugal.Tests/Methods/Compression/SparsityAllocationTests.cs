using Frugal.Methods.Compression;

namespace Frugal.Tests.Methods.Compression;

public class SparsityAllocationTests
{
    [Fact]
    public void Hand_computed_plan_in_backward_order()
    {
        // Backward order: fc (100 elements, protected, its floor allows 50%), conv b (200, protected, floor allows 95%
        // > target, so it gets the target 80%), conv a (700, unprotected). Budget 0.8·1000 = 800 zeros; the protected
        // layers realise 50 + 160, so a gets (800 − 210)/700 = 0.842857…, under the 0.9 cap.
        var s = SparsityAllocation.Plan(0.8, 0.9, [100, 200, 700], [true, true, false], [0.5, 0.95, double.NaN]);
        Assert.Equal(0.5, s[0], 12);
        Assert.Equal(0.8, s[1], 12);
        Assert.Equal(590.0 / 700, s[2], 12);
        Assert.Equal(800, 100 * s[0] + 200 * s[1] + 700 * s[2], 9);
    }

    [Fact]
    public void The_cap_binds_and_the_budget_is_then_missed()
    {
        // Floors allow only 10% and 20%: a would need (800 − 50)/700 > 1, so it sits at the 0.9 cap; global 68%.
        var s = SparsityAllocation.Plan(0.8, 0.9, [100, 200, 700], [true, true, false], [0.1, 0.2, 0]);
        Assert.Equal([0.1, 0.2, 0.9], s.Select(v => Math.Round(v, 12)).ToArray());
    }

    [Fact]
    public void Realised_zeros_move_the_budget_of_the_layers_still_to_come()
    {
        // Two unprotected layers of 500 at target 0.6: the first is planned at 0.6, but realises 0.7 (e.g. its own
        // ReLU zeros), so the second gets (600 − 350)/500 = 0.5 and the global sparsity is exactly the target.
        var a = new SparsityAllocation(0.6, 0.95);
        a.Begin([500, 500], [false, false]);
        Assert.Equal(0.6, a.Next(0), 12);
        a.Realised(0, 350);
        Assert.Equal(0.5, a.Next(1), 12);
        Assert.Throws<InvalidOperationException>(() => a.Realised(0, 1));
        Assert.Throws<InvalidOperationException>(() => a.Next(1));
    }

    [Fact]
    public void Budget_reached_with_floors_respected_on_cnn_sized_layers()
    {
        // The cnn at batch 128 in backward order: fc1 (256·128), conv 2w (64·14·14·128) ×2, conv w (32·28·28·128) ×2.
        long[] n = [256L * 128, 12544L * 128, 12544L * 128, 25088L * 128, 25088L * 128];
        var prot = SparsityAllocation.DefaultProtected(n);
        Assert.Equal([true, true, true, false, false], prot);
        double target = 0.85, floor = 0.95;
        double[] sigmas = [1.2, 1.6, 1.8, 2.0, 2.0];
        var floorSparsity = sigmas.Select(sg => LogNormal.SparsityForCosine(floor, sg)).ToArray();
        var s = SparsityAllocation.Plan(target, 0.9, n, prot, floorSparsity);
        double zeros = 0;
        for (int i = 0; i < n.Length; i++)
        {
            zeros += s[i] * n[i];
            Assert.InRange(s[i], 0, 0.9 + 1e-12);
            if (!prot[i]) continue;
            Assert.True(s[i] <= target + 1e-12);
            // the floor holds: the predicted cosine at the allocated sparsity is at least the floor
            double cos = LogNormal.Cosine(Math.Exp(LogNormal.LogNormalizedThreshold(s[i], sigmas[i])), sigmas[i]);
            Assert.True(cos >= floor - 1e-6, $"layer {i}: cos {cos} at sparsity {s[i]}");
        }
        Assert.Equal(target, zeros / n.Sum(), 9);
        Assert.True(s[0] < target && s[1] < target && s[3] > target, "small σ needs protection; the large layers carry the rest");
    }

    [Fact]
    public void Protection_rule_leaves_the_full_resolution_layers_unprotected()
    {
        Assert.Equal([false, false], SparsityAllocation.DefaultProtected([10, 10]));                 // mlp: equal widths
        Assert.Equal([false, true, false, false], SparsityAllocation.DefaultProtected([4704, 1600, 0, 4704]));   // lenet-like; 0 = absent
        Assert.Equal([false, false, true], SparsityAllocation.DefaultProtected([100, 60, 50]));      // > half of the largest: unprotected
        Assert.Throws<ArgumentException>(() => new SparsityAllocation(1, 0.9));
        Assert.Throws<ArgumentException>(() => new SparsityAllocation(0.5, 1));
    }
}
