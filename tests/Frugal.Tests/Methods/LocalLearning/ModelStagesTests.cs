using Frugal.Methods.LocalLearning;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.LocalLearning;

public class ModelStagesTests
{
    static Sequential Cnn() => (Sequential)ModelZoo.Build("cnn", new ModelOptions(Width: 4));

    [Fact]
    public void The_cnn_splits_into_one_stage_per_weighted_layer_with_what_follows_it()
    {
        var stages = ModelStages.Split(Cnn());
        Assert.Equal(["Conv2d BatchNorm2d ReLU", "Conv2d BatchNorm2d ReLU MaxPool2d", "Conv2d BatchNorm2d ReLU",
            "Conv2d BatchNorm2d ReLU MaxPool2d Flatten", "Linear ReLU", "Linear"],
            stages.Select(s => string.Join(" ", s.Layers.Select(l => l.GetType().Name))));
    }

    [Fact]
    public void Leading_layers_without_weights_join_the_first_stage_and_stages_share_the_modules()
    {
        var mlp = (Sequential)ModelZoo.Build("mlp", new ModelOptions(Hidden: [8, 8]));
        var stages = ModelStages.Split(mlp);
        Assert.Equal(3, stages.Count);
        Assert.IsType<Flatten>(stages[0][0]);
        Assert.Same(mlp[1], stages[0][1]);
        Assert.Equal(mlp.Parameters().Count(), stages.Sum(s => s.Parameters().Count()));
    }

    [Theory]
    [InlineData(1, new[] { 6 })]
    [InlineData(2, new[] { 3, 3 })]
    [InlineData(4, new[] { 2, 2, 1, 1 })]
    [InlineData(6, new[] { 1, 1, 1, 1, 1, 1 })]
    public void Partitions_are_consecutive_stages_covering_the_model(int k, int[] weightedPerPart)
    {
        var model = Cnn();
        var parts = ModelStages.Partition(model, k);
        Assert.Equal(weightedPerPart, parts.Select(p => p.Layers.Count(ModelStages.IsWeighted)));
        Assert.Equal(model.Layers, parts.SelectMany(p => p.Layers));
        // Run in turn, the partitions compute the model.
        var x = Tensor.Randn(new Shape(2, 1, 28, 28), new Generator(1));
        model.Eval();
        var y = parts.Aggregate(x, (h, p) => p.Call(h));
        Assert.Equal(model.Call(x).ToArray(), y.ToArray());
    }

    [Fact]
    public void Impossible_partitions_and_models_without_weights_are_errors()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelStages.Partition(Cnn(), 7));
        Assert.Contains("choose 1 to 6", e.Message);
        Assert.Throws<ArgumentException>(() => ModelStages.Split(new Sequential(new ReLU(), new Flatten())));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void Auxiliary_heads_classify_a_stages_output(int depth)
    {
        var stages = ModelStages.Split(Cnn());
        var features = ModelStages.OutputShape(stages[0], new Shape(1, 28, 28));
        Assert.Equal(new Shape(4, 28, 28), features);
        var head = AuxiliaryHead.Create(features, 10, depth, new Generator(2));
        Assert.Equal(depth, head.Layers.OfType<Conv2d>().Count());
        var y = head.Call(stages[0].Call(Tensor.Randn(new Shape(3, 1, 28, 28), new Generator(3))));
        Assert.Equal(new Shape(3, 10), y.Shape);
        var flat = AuxiliaryHead.Create(new Shape(16), 5, depth);
        Assert.Equal(depth + 1, flat.Layers.OfType<Linear>().Count());
        Assert.Throws<ArgumentException>(() => AuxiliaryHead.Create(new Shape(2, 3), 5));
    }
}
