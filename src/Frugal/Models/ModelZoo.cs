using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Models;

/// <summary>
/// The models `frugal train --model NAME` builds for 28×28 single-channel images. Layer order and
/// indices match the PyTorch definitions (../shared/bench/torch_fashion.py and bench/reference/models.py),
/// so state-dict keys line up and a checkpoint loads into the PyTorch model unchanged.
/// </summary>
public static class ModelZoo
{
    public static readonly string[] Names = ["mlp", "cnn", "lenet", "resnet"];

    public static Module Build(string name, ModelOptions? options = null, ulong seed = 0)
    {
        var o = options ?? new ModelOptions();
        var g = new Generator(seed);
        return name switch
        {
            "mlp" => Mlp(o, g),
            "cnn" => Cnn(o, g),
            "lenet" => LeNet(o, g),
            "resnet" => ResNet(o, g),
            _ => throw new ArgumentException($"model: unknown model '{name}' (choose one of {string.Join(", ", Names)})"),
        };
    }

    /// <summary>Flatten, then Linear-activation (ReLU unless chosen) per hidden width, then the classifier (784-1024-1024-10 by default).</summary>
    static Module Mlp(ModelOptions o, Generator g)
    {
        var m = new Sequential(new Flatten());
        int prev = 28 * 28;
        foreach (var h in o.HiddenOrDefault)
        {
            if (h <= 0) throw new ArgumentException($"model mlp: hidden width must be positive, got {h}");
            m.Append(new Linear(prev, h, generator: g)).Append(o.Activation.Create());
            prev = h;
        }
        return m.Append(new Linear(prev, o.Classes, generator: g));
    }

    /// <summary>The reference VGG-style CNN: [conv3x3(w)-BN-ReLU]×2, maxpool, [conv3x3(2w)-BN-ReLU]×2, maxpool, fc 49·2w→256, ReLU, fc 256→10.</summary>
    static Module Cnn(ModelOptions o, Generator g)
    {
        int w = o.Width > 0 ? o.Width : 32;
        var m = new Sequential();
        void Block(int i, int c) => m.Append(new Conv2d(i, c, 3, padding: 1, bias: false, generator: g)).Append(new BatchNorm2d(c)).Append(new ReLU());
        Block(1, w); Block(w, w); m.Append(new MaxPool2d(2));
        Block(w, 2 * w); Block(2 * w, 2 * w); m.Append(new MaxPool2d(2));
        return m.Append(new Flatten()).Append(new Linear(2 * w * 7 * 7, 256, generator: g)).Append(new ReLU())
                .Append(new Linear(256, o.Classes, generator: g));
    }

    /// <summary>LeNet-5 for 28×28 (padding 2 on the first conv): conv5(6)-ReLU-maxpool, conv5(16)-ReLU-maxpool, fc 400-120-84-10.</summary>
    static Module LeNet(ModelOptions o, Generator g) => new Sequential(
        new Conv2d(1, 6, 5, padding: 2, generator: g), new ReLU(), new MaxPool2d(2),
        new Conv2d(6, 16, 5, generator: g), new ReLU(), new MaxPool2d(2),
        new Flatten(),
        new Linear(16 * 5 * 5, 120, generator: g), new ReLU(),
        new Linear(120, 84, generator: g), new ReLU(),
        new Linear(84, o.Classes, generator: g));

    /// <summary>A small ResNet for 28×28: conv3x3(w)-BN-ReLU stem, three stages of BasicBlocks at w, 2w, 4w
    /// channels (stride 2 into stages 2 and 3: 28→14→7), global average pool, fc.</summary>
    static Module ResNet(ModelOptions o, Generator g)
    {
        int w = o.Width > 0 ? o.Width : 16, depth = o.Depth > 0 ? o.Depth : 2;
        var m = new Sequential(new Conv2d(1, w, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(w), new ReLU());
        int c = w;
        foreach (var (width, stride) in new[] { (w, 1), (2 * w, 2), (4 * w, 2) })
        {
            var stage = new Sequential();
            for (int b = 0; b < depth; b++)
            {
                stage.Append(new BasicBlock(c, width, b == 0 ? stride : 1, g));
                c = width;
            }
            m.Append(stage);
        }
        return m.Append(new AdaptiveAvgPool2d(1, 1)).Append(new Flatten()).Append(new Linear(c, o.Classes, generator: g));
    }
}
