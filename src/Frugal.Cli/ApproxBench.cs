using System.Globalization;
using System.Text;
using Frugal.Methods.Approximate;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Options;
using Frugal.Runs;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>
/// `frugal bench approx`: sampler error vs keep ratio (METHODS.md §2's experiment) — uniform CRS, optimal CRS,
/// Bernoulli-CRS and Top-k on synthetic operand pairs and on the real activation/weight pairs of a briefly trained
/// model, as a markdown table of RMS relative errors ‖Ŷ − Y‖_F/‖Y‖_F.
/// </summary>
static class ApproxBench
{
    static readonly SamplerKind[] Kinds = [SamplerKind.CrsUniform, SamplerKind.Crs, SamplerKind.Bernoulli, SamplerKind.TopK];
    static readonly string[] SamplerNames = Kinds.Select(EnumNames<SamplerKind>.Name).ToArray();

    public static void Run(TrainOptions o, double[] keeps, int draws, string? outFile)
    {
        using var pool = Backends.Cpu.BufferPool.Enable();
        var rows = new List<(string Pair, string Shape)>();
        var errors = new List<double[,]>();
        void Measure(string name, Module layer, Tensor input)
        {
            var e = new double[keeps.Length, SamplerNames.Length];
            for (int k = 0; k < keeps.Length; k++)
                for (int s = 0; s < SamplerNames.Length; s++)
                    e[k, s] = SamplerError.RelativeError(layer, input, Frugal.Methods.Approximate.Samplers.Create(Kinds[s]), keeps[k], 1, draws, new Generator(7));
            rows.Add((name, Describe(layer, input)));
            errors.Add(e);
            Console.Error.WriteLine($"  measured {name}");
        }

        // Synthetic pairs: Gaussian operands whose columns (channels) carry log-normal scales (σ = 1), so term weights
        // spread over about two decades, as in trained layers.
        var g = new Generator(1);
        var lin = new Linear(512, 256, generator: g);
        Measure("synthetic linear", lin, Scaled(Tensor.Randn(new Shape(128, 512), g), 1, g));
        var conv = new Conv2d(64, 64, 3, padding: 1, generator: g);
        Measure("synthetic conv", conv, Scaled(Tensor.Randn(new Shape(32, 64, 14, 14), g), 1, g));

        // Real pairs: train the model briefly (exact), then the inputs each layer sees on one test batch.
        Console.Error.WriteLine($"  training {o.Model} for {o.Epochs} epoch(s) on {(o.TrainLimit > 0 ? o.TrainLimit : 60000)} examples for the real pairs");
        var trainer = RunBuilder.Build(o with { Approx = null, Out = null });
        trainer.Run(o.Epochs);
        if (trainer.Model is not Sequential seq) throw new ArgumentException($"bench approx: model {o.Model} is not a Sequential; use mlp, cnn or lenet");
        var batch = trainer.TestLoader!.Epoch(0).First().Inputs.Narrow0(0, Math.Min(o.BatchSize, trainer.TestLoader.Data.Count));
        foreach (var (name, layer, input) in SamplerError.LayerInputs(seq, batch))
            Measure($"{o.Model} layer {name}", layer, input);

        var md = new StringBuilder();
        md.AppendLine($"Sampler error vs keep: RMS of ‖Ŷ − Y‖_F/‖Y‖_F over {draws} draws, forward sampling, minimal_k 1.");
        md.AppendLine($"Real pairs: {o.Model} after {o.Epochs} epoch(s) on {(o.TrainLimit > 0 ? o.TrainLimit : 60000)} Fashion-MNIST examples (seed {o.Seed}), one test batch of {batch.Shape[0]}.");
        md.AppendLine();
        md.AppendLine("| pair | shape | keep | " + string.Join(" | ", SamplerNames) + " |");
        md.AppendLine("|---|---|---|" + string.Concat(Enumerable.Repeat("---|", SamplerNames.Length)));
        for (int r = 0; r < rows.Count; r++)
            for (int k = 0; k < keeps.Length; k++)
                md.AppendLine($"| {rows[r].Pair} | {rows[r].Shape} | {keeps[k].ToString(CultureInfo.InvariantCulture)} | " +
                    string.Join(" | ", Enumerable.Range(0, SamplerNames.Length).Select(s => errors[r][k, s].ToString("F4", CultureInfo.InvariantCulture))) + " |");
        Console.Write(md.ToString());
        if (outFile != null) File.WriteAllText(outFile, md.ToString());
    }

    /// <summary>Multiplies slice i of x along <paramref name="axis"/> by e^(σ·z_i), z_i standard normal.</summary>
    static Tensor Scaled(Tensor x, int axis, Generator g)
    {
        var dims = new int[x.Rank];
        Array.Fill(dims, 1);
        dims[axis] = x.Shape[axis];
        var z = new float[x.Shape[axis]];
        g.FillNormal(z);
        return x.Mul(Tensor.FromArray(z.Select(v => MathF.Exp(v)).ToArray(), new Shape(dims)));
    }

    static string Describe(Module layer, Tensor input) => layer switch
    {
        Linear l => $"X {input.Shape}·W [{l.OutFeatures}, {l.InFeatures}]ᵀ",
        Conv2d c => $"I {input.Shape} * K [{c.OutChannels}, {c.InChannels}, {c.KernelSize.H}, {c.KernelSize.W}]",
        _ => layer.ToString(),
    };
}
