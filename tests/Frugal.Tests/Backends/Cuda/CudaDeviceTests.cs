using Frugal.Backends;
using Frugal.Backends.Cuda;
using Frugal.Checkpoints;
using Frugal.Models;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Tests.Backends.Cuda;

/// <summary>Tests that read the device's allocator statistics run alone: tests running in parallel allocate on the same device.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CudaSerialCollection
{
    public const string Name = "cuda (serial)";
}

/// <summary>Behaviour of the CUDA backend beyond the op tests (which run on it through TestDevices): memory reuse
/// across training steps, moving tensors and checkpoints between devices. Skipped without a CUDA device.</summary>
[Collection(CudaSerialCollection.Name)]
public class CudaDeviceTests
{
    static CudaBackend Cuda => (CudaBackend)BackendRegistry.Get(Device.Cuda());

    [CudaFact]
    public void After_the_first_step_a_training_loop_makes_no_device_allocations()
    {
        var net = ModelZoo.Build("mlp", seed: 1).To(Device.Cuda());
        var opt = new Sgd(net.Parameters(), 0.05, momentum: 0.9);
        var x = Tensor.Randn(new Shape(16, 1, 28, 28), new Generator(2), Device.Cuda());
        int[] y = [.. Enumerable.Range(0, 16).Select(i => i % 10)];
        var raw = new List<long>();
        for (int s = 0; s < 4; s++)
        {
            using var step = (Frugal.Backends.Cuda.Memory.CachingAllocator.StepScope)Cuda.BeginStep();
            var loss = net.Call(x).CrossEntropy(y);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
            loss = null!;
            step.Dispose();
            raw.Add(step.RawAllocations);
        }
        Assert.True(raw[0] > 0);
        Assert.All(raw.Skip(2), r => Assert.Equal(0, r));   // step 1 may still create optimizer state
        Assert.True(Cuda.MemoryStatistics.CacheHits > 0);
    }

    [CudaFact]
    public void Tensors_move_between_devices_unchanged_and_disposal_returns_memory_at_once()
    {
        var host = Tensor.Randn(new Shape(3, 1000), new Generator(3));
        var dev = host.To(Device.Cuda());
        Assert.Equal(Device.Cuda(), dev.Device);
        Assert.Equal(host.ToArray(), dev.ToArray());
        Assert.Equal(host.ToArray(), dev.To(Device.Cpu).ToArray());
        Assert.Throws<InvalidOperationException>(() => dev.Span.ToArray());
        long before = Cuda.MemoryStatistics.BytesInUse;
        dev.Storage.Dispose();
        Assert.True(Cuda.MemoryStatistics.BytesInUse < before);
        Assert.Throws<ObjectDisposedException>(() => dev.ToArray());
    }

    [CudaFact]
    public void Mixing_devices_in_one_op_is_an_error_that_names_both()
    {
        var a = Tensor.Zeros(new Shape(2, 2), Device.Cuda());
        var b = Tensor.Zeros(new Shape(2, 2));
        var ex = Assert.ThrowsAny<ArgumentException>(() => a.Add(b));
        Assert.Contains("cuda", ex.Message);
        Assert.Contains("cpu", ex.Message);
    }

    [CudaFact]
    public void A_checkpoint_saved_on_one_device_loads_onto_the_other_with_the_same_outputs()
    {
        var cpu = ModelZoo.Build("cnn", seed: 4).Eval();
        var path = Path.Combine(Path.GetTempPath(), $"frugal-cuda-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(path, cpu.StateDict());
            var gpu = Frugal.Runs.Checkpointing.Load(path, "cnn", device: Device.Cuda()).Eval();
            Assert.All(gpu.Parameters(), p => Assert.Equal(Device.Cuda(), p.Device));
            var x = Tensor.Randn(new Shape(2, 1, 28, 28), new Generator(5));
            Check.Close(cpu.Call(x), gpu.Call(x.To(Device.Cuda())).To(Device.Cpu), 1e-4f, 1e-3f);
            // and back: saved from the GPU, loaded on the CPU
            SafeTensors.Save(path, gpu.StateDict());
            var back = Frugal.Runs.Checkpointing.Load(path, "cnn").Eval();
            Check.Close(cpu.Call(x), back.Call(x), 0, 0);
        }
        finally { File.Delete(path); }
    }

    [CudaFact]
    public void Fp32_gemm_is_the_default()
    {
        Assert.Equal(Environment.GetEnvironmentVariable("FRUGAL_CUDA_TF32") == "1", CudaOptions.AllowTf32);
        Assert.Contains("cuda:0", Cuda.Description);
    }
}
