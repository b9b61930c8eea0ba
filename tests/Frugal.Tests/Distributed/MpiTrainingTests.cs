using Frugal.Checkpoints;
using Frugal.Tests.Cli;
using Frugal.Tests.Training;

namespace Frugal.Tests.Distributed;

/// <summary>
/// `mpirun -np N frugal train …` as a user runs it: N ranks on shards of B give the weights of one process on batches
/// of N·B; a run resumes under mpirun exactly; a compressed exchange puts its bytes on the wire; DropCompute drops under
/// injected stragglers; a rank's failure ends the job at once with one line.
/// </summary>
[Collection(MpiCollection.Name)]
public class MpiTrainingTests : IDisposable
{
    static readonly TimeSpan Guard = TimeSpan.FromSeconds(120);
    static readonly string Frugal = Mpirun.Beside("frugal.dll");
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-mpi-train-" + Guid.NewGuid().ToString("N")[..8]);
    readonly string _data;

    public MpiTrainingTests() =>
        _data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), SyntheticImages.Make(512, 4, 1), SyntheticImages.Make(128, 4, 2));

    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    string[] Args(string run, int batch, params string[] more) => Args(run, batch, 2, more);

    string[] Args(string run, int batch, int epochs, params string[] more) =>
        ["train", "--model", "mlp", "--hidden", "32", "32", "--epochs", $"{epochs}", "--batch-size", $"{batch}", "--data-dir", _data, "--out", Path.Combine(_dir, run), .. more];

    Mpirun.Result Job(int ranks, string[] args)
    {
        var r = Mpirun.Run(ranks, Guard, Frugal, args);
        Assert.False(r.TimedOut, $"mpirun -np {ranks} hung past {Guard.TotalSeconds} s:\n{r.Output}");
        return r;
    }

    float[][] Weights(string run) =>
        SafeTensors.Load(Path.Combine(_dir, run, "model.safetensors")).Tensors.Values.Select(t => t.ToArray()).ToArray();

    string Metrics(string run) => File.ReadAllText(Path.Combine(_dir, run, "metrics.jsonl"));

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void N_ranks_give_the_weights_of_one_process_on_the_combined_batch(int ranks)
    {
        var alone = FrugalProcess.Run(Guard, Args("alone", 8 * ranks));
        Assert.True(alone.ExitCode == 0, alone.Stdout + alone.Stderr);
        var job = Job(ranks, Args("ranks", 8));
        Assert.True(job.ExitCode == 0, job.Output);
        Assert.Contains($"{ranks} ranks on 1 host", job.Stdout);
        Assert.Single(job.Stdout.Split('\n'), l => l.StartsWith("epoch 2:", StringComparison.Ordinal)); // rank 0 alone reports
        var (a, b) = (Weights("alone"), Weights("ranks"));
        double differ = 0;
        for (int t = 0; t < a.Length; t++)
            for (int i = 0; i < a[t].Length; i++) differ = Math.Max(differ, Math.Abs(a[t][i] - b[t][i]));
        Assert.True(differ < 1e-4, $"{ranks} ranks and one process differ by {differ}");
        Assert.Contains($"\"ranks\":{ranks}", Metrics("ranks"));
    }

    [MpiFact]
    public void A_run_resumes_under_mpirun_as_if_never_stopped()
    {
        Assert.Equal(0, Job(2, Args("full", 8)).ExitCode);
        var first = Job(2, Args("cut", 8, epochs: 1));
        Assert.True(first.ExitCode == 0, first.Output);
        var resumed = Job(2, [.. Args("cut", 8), "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Output);
        Assert.Contains("continuing", resumed.Stdout);
        Assert.Equal(Weights("full"), Weights("cut"));
    }

    [MpiFact]
    public void A_compressed_exchange_sends_its_bytes_and_drop_compute_drops_under_stragglers()
    {
        var job = Job(2, Args("fp8", 8, "--compress", "fp8"));
        Assert.True(job.ExitCode == 0, job.Output);
        var last = File.ReadAllLines(Path.Combine(_dir, "fp8", "metrics.jsonl"))[^1];
        var wire = double.Parse(System.Text.RegularExpressions.Regex.Match(last, "\"compress_wire_ratio\":([0-9.eE-]+)").Groups[1].Value,
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(wire, 3.5, 4.5); // fp32 bytes over fp8 bytes on the wire

        // A 10 µs threshold passes during each step's first micro-batch: past the 5 warm-up steps (epoch 1) every step
        // keeps at most one of its 4.
        var drop = Job(2, Args("drop", 4, "--micro-batches", "4", "--straggler-delay", "1", "--drop-compute", "0.00001"));
        Assert.True(drop.ExitCode == 0, drop.Output);
        var rate = double.Parse(System.Text.RegularExpressions.Regex.Match(File.ReadAllLines(Path.Combine(_dir, "drop", "metrics.jsonl"))[^1],
            "\"drop_rate\":([0-9.eE-]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(rate, 0.75, 1.0);
    }

    [MpiFact]
    public void A_bad_flag_ends_every_rank_with_one_line_each()
    {
        var job = Job(2, Args("bad", 8, "--compress", "fp9"));
        Assert.NotEqual(0, job.ExitCode);
        Assert.Contains("--compress: unknown compressor 'fp9'", job.Stderr);
        Assert.DoesNotContain("   at ", job.Output);
    }
}
