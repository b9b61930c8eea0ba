using Frugal.Backends.Cpu;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Tests.Optim;

/// <summary>Every backend's fused update against the optimizer's scalar reference, on lengths that exercise
/// the vector tail (0, 1, 7, 33, 1000) and, on the CPU, the multi-threaded split (above the streaming threshold).</summary>
public class OptimKernelTests
{
    static readonly int[] Lengths = [0, 1, 7, 33, 1000, 70_001];

    static int[] LengthsOn(Device d) => d == Device.Cpu ? [.. Lengths, Threading.StreamingThreshold + 33] : Lengths;

    static float[] Data(int n, ulong seed, float scale = 1)
    {
        var v = new float[n];
        new Generator(seed).FillNormal(v, 0, scale);
        return v;
    }

    static float[] Abs(float[] v) => v.Select(MathF.Abs).ToArray();

    static Tensor T(Device d, float[] v) => Tensor.FromArray(v, new Shape(v.Length), d);

    public static TheoryData<string, double, double, double, bool, bool> SgdCases()
    {
        var data = new TheoryData<string, double, double, double, bool, bool>();
        foreach (var dev in TestDevices.Names)
        {
            data.Add(dev, 0, 0, 0, false, false);
            data.Add(dev, 0, 0, 1e-2, false, false);
            data.Add(dev, 0.9, 0, 0, false, true);
            data.Add(dev, 0.9, 0.1, 1e-2, false, false);
            data.Add(dev, 0.9, 0, 1e-2, true, false);
            data.Add(dev, 0.9, 0, 0, true, true);
        }
        return data;
    }

    [Theory, MemberData(nameof(SgdCases))]
    public void Sgd_kernel_matches_reference(string device, double momentum, double dampening, double wd, bool nesterov, bool first)
    {
        var d = Device.Parse(device);
        foreach (var n in LengthsOn(d))
        {
            float[] p = Data(n, 1), g = Data(n, 2), v = Data(n, 3);
            var pt = T(d, p); var gt = T(d, g); var vt = T(d, v);
            pt.Backend.SgdStep(pt, gt, momentum != 0 ? vt : null, 0.05, momentum, dampening, wd, nesterov, first);
            Sgd.Reference(p, g, v, 0.05, momentum, dampening, wd, nesterov, first);
            Assert.Equal(p, pt.ToArray());
            Assert.Equal(v, vt.ToArray());
            Assert.Equal(g, gt.ToArray());
        }
    }

    public static TheoryData<string, double, bool, bool, int> AdamCases()
    {
        var data = new TheoryData<string, double, bool, bool, int>();
        foreach (var dev in TestDevices.Names)
        {
            data.Add(dev, 0, false, false, 1);
            data.Add(dev, 0, false, false, 7);
            data.Add(dev, 0.1, false, false, 3);
            data.Add(dev, 0.1, true, false, 3);
            data.Add(dev, 0, false, true, 2);
            data.Add(dev, 0.1, true, true, 100);
        }
        return data;
    }

    [Theory, MemberData(nameof(AdamCases))]
    public void Adam_kernel_matches_reference(string device, double wd, bool decoupled, bool amsgrad, int step)
    {
        var d = Device.Parse(device);
        foreach (var n in LengthsOn(d))
        {
            float[] p = Data(n, 1), g = Data(n, 2), m = Data(n, 3, 0.1f), v = Abs(Data(n, 4, 0.01f)), x = Abs(Data(n, 5, 0.01f));
            var pt = T(d, p); var gt = T(d, g); var mt = T(d, m); var vt = T(d, v); var xt = T(d, x);
            pt.Backend.AdamStep(pt, gt, mt, vt, amsgrad ? xt : null, 1e-3, 0.9, 0.999, 1e-8, wd, decoupled, step);
            Adam.Reference(p, g, m, v, amsgrad ? x : Span<float>.Empty, 1e-3, 0.9, 0.999, 1e-8, wd, decoupled, step);
            Assert.Equal(p, pt.ToArray());
            Assert.Equal(m, mt.ToArray());
            Assert.Equal(v, vt.ToArray());
            Assert.Equal(x, xt.ToArray());
        }
    }

    [Fact]
    public void Squared_norm_writes_its_slot()
    {
        foreach (var n in LengthsOn(Device.Cpu))
        {
            var x = Data(n, 9);
            var r = Tensor.Full(new Shape(3), -1f);
            r.Backend.SquaredNorm(T(Device.Cpu, x), r, 1);
            double want = x.Sum(v => (double)v * v);
            Assert.Equal(-1f, r.ToArray()[0]); Assert.Equal(-1f, r.ToArray()[2]);
            Assert.Equal(want, r.ToArray()[1], Math.Max(1e-6, want * 1e-6));
        }
    }

    [Fact]
    public void Mismatched_buffers_are_named()
    {
        var be = Tensor.Zeros(4).Backend;
        var e = Assert.Throws<ArgumentException>(() => be.SgdStep(Tensor.Zeros(4), Tensor.Zeros(3), null, 0.1, 0, 0, 0, false, false));
        Assert.Contains("sgd_step", e.Message); Assert.Contains("grad", e.Message); Assert.Contains("[3]", e.Message);
        e = Assert.Throws<ArgumentException>(() => be.SgdStep(Tensor.Zeros(4), Tensor.Zeros(4), null, 0.1, 0.9, 0, 0, false, false));
        Assert.Contains("velocity", e.Message);
        e = Assert.Throws<ArgumentException>(() => be.AdamStep(Tensor.Zeros(4), Tensor.Zeros(4), Tensor.Zeros(4), Tensor.Zeros(5), null, 0.1, 0.9, 0.99, 1e-8, 0, false, 1));
        Assert.Contains("adam_step", e.Message); Assert.Contains("exp_avg_sq", e.Message); Assert.Contains("[5]", e.Message);
        e = Assert.Throws<ArgumentException>(() => be.AdamStep(Tensor.Zeros(4), Tensor.Zeros(4), Tensor.Zeros(4), Tensor.Zeros(4), null, 0.1, 0.9, 0.99, 1e-8, 0, false, 0));
        Assert.Contains("step", e.Message);
        Assert.Throws<ArgumentException>(() => be.SquaredNorm(Tensor.Zeros(4), Tensor.Zeros(2), 2));
    }
}
