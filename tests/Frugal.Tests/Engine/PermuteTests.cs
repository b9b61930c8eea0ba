using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class PermuteTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Permute_matches_index_arithmetic(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Arange(24, d).Reshape(2, 3, 4);
        var y = x.Permute(2, 0, 1);
        Assert.Equal(new Shape(4, 2, 3), y.Shape);
        var v = y.ToArray();
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    Assert.Equal(i * 12 + j * 4 + k, v[(k * 2 + i) * 3 + j]);
        Assert.Equal([0f, 3f, 1f, 4f, 2f, 5f], Tensor.Arange(6, d).Reshape(2, 3).Transpose(0, 1).ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Permute_transpose_flatten_gradients(string device)
    {
        var d = Device.Parse(device);
        Check.Gradients(t => t[0].Permute(2, 0, 1), Check.Param(d, 1, 2, 3, 4));
        Check.Gradients(t => t[0].Permute(0, 2, 1, 3), Check.Param(d, 2, 2, 1, 3, 2));
        Check.Gradients(t => t[0].Transpose(0, -1), Check.Param(d, 3, 3, 5));
        Check.Gradients(t => t[0].Flatten(), Check.Param(d, 4, 2, 3, 2));
        Check.Gradients(t => t[0].Flatten(0, 1), Check.Param(d, 5, 2, 3, 2));
        Check.Gradients(t => t[0].Permute(0), Check.Param(d, 6, 1));
    }

    [Fact]
    public void Bad_permutation_is_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Permute(0, 0));
        Assert.Contains("permute", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("flatten", Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3, 4).Flatten(2, 1)).Message);
    }
}
