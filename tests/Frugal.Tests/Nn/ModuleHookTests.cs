using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Nn;

public class ModuleHookTests
{
    [Fact]
    public void ForwardHookSeesAndReplacesTheOutputOfANestedLayer()
    {
        var model = new Sequential(new Linear(3, 4, generator: new Generator(1)), new ReLU(), new Linear(4, 2, generator: new Generator(2)));
        var x = Tensor.Randn(new Shape(5, 3), new Generator(3));
        var before = model.Call(x).ToArray();
        Module? seen = null;
        var handle = model[2].RegisterForwardHook((m, y) => { seen = m; return y * 2f; });
        var after = model.Call(x).ToArray();
        Assert.Same(model[2], seen);
        Check.Close(before.Select(v => 2 * v).ToArray(), after);
        handle.Remove();
        Check.Close(before, model.Call(x).ToArray());
    }

    [Fact]
    public void A_handle_removes_its_own_hook_and_leaves_the_others()
    {
        var layer = new Linear(3, 2, generator: new Generator(1));
        var x = Tensor.Randn(new Shape(4, 3), new Generator(2));
        var plain = layer.Call(x).ToArray();
        var calls = new List<string>();
        var first = layer.RegisterForwardHook((_, y) => { calls.Add("first"); return y * 2f; });
        using var second = layer.RegisterForwardHook((_, y) => { calls.Add("second"); return y + 1f; });
        first.Remove();
        first.Remove();   // twice is harmless
        Check.Close(plain.Select(v => v + 1f).ToArray(), layer.Call(x).ToArray());
        Assert.Equal(["second"], calls);
    }

    [Fact]
    public void A_hook_may_remove_itself_while_the_hooks_run()
    {
        var layer = new Linear(3, 2, generator: new Generator(1));
        var x = Tensor.Randn(new Shape(4, 3), new Generator(2));
        int once = 0, always = 0;
        Frugal.Autograd.RemovableHandle? self = null;
        self = layer.RegisterForwardHook((_, y) => { once++; self!.Remove(); return y; });
        layer.RegisterForwardHook((_, y) => { always++; return y; });
        layer.Call(x);
        layer.Call(x);
        Assert.Equal((1, 2), (once, always));
    }

    [Fact]
    public void A_gradient_hook_handle_removes_that_hook()
    {
        var w = Tensor.FromArray([1f, 2f], new Shape(2));
        w.RequiresGrad = true;
        var handle = w.RegisterHook(g => g * 10f);
        w.Sum().Backward();
        Check.Close([10f, 10f], w.Grad!.ToArray());
        handle.Dispose();
        w.Grad = null;
        w.Sum().Backward();
        Check.Close([1f, 1f], w.Grad!.ToArray());
    }

    [Fact]
    public void ForwardHookOnAnOutputCanHookItsNeuralGradient()
    {
        var layer = new Linear(3, 2, generator: new Generator(1));
        Tensor? neural = null;
        layer.RegisterForwardHook((_, y) => { y.RegisterHook(g => { neural = g; return g * 0f; }); return y; });
        var x = Tensor.Randn(new Shape(4, 3), new Generator(2));
        layer.Call(x).Sum().Backward();
        Assert.Equal(new Shape(4, 2), neural!.Shape);
        Assert.All(layer.Weight.Grad!.ToArray(), v => Assert.Equal(0f, v));   // the hook's zeroed gradient reached the weights
    }

    sealed class Doubler : Module
    {
        protected override Tensor Forward(Tensor x) => x * 2f;
    }

    [Fact]
    public void ReplaceChildSwapsALayerInSequentialAndBasicBlock()
    {
        var seq = new Sequential(new ReLU(), new ReLU());
        seq.ReplaceChild("1", new Doubler());
        Check.Close([2f, 0f], seq.Call(Tensor.FromArray([1f, -1f], new Shape(2))).ToArray());
        Assert.IsType<Doubler>(seq[1]);

        var block = new BasicBlock(2, 2, generator: new Generator(1));
        var x = Tensor.Randn(new Shape(1, 2, 4, 4), new Generator(2));
        var conv = (Conv2d)block.NamedChildren().First(c => c.Name == "conv1").Module;
        int calls = 0;
        var wrapper = new Wrapping(conv, () => calls++);
        block.ReplaceChild("conv1", wrapper);
        block.Call(x);
        Assert.Equal(1, calls);
        Assert.Throws<ArgumentException>(() => block.ReplaceChild("nope", new Doubler()));
    }

    sealed class Wrapping(Module inner, Action onCall) : Module
    {
        protected override Tensor Forward(Tensor x) { onCall(); return inner.Call(x); }
    }
}
