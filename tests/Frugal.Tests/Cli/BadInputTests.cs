using Frugal.Runs;
using Frugal.Tests.Training;
using Xunit.Abstractions;

namespace Frugal.Tests.Cli;

/// <summary>
/// Bad input through the real executable: every case ends within seconds in exactly one line on stderr, starting
/// "frugal: " and naming the flag, key or file, with a non-zero exit code and no stack trace.
/// </summary>
public class BadInputTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-badinput-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    string File_(string name, string text)
    {
        Directory.CreateDirectory(_dir);
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, text);
        return p;
    }

    [Fact]
    public void Every_bad_command_line_ends_in_one_line_naming_what_is_wrong()
    {
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), SyntheticImages.Make(64, 4, 1), SyntheticImages.Make(32, 4, 2));
        var fifo = Path.Combine(_dir, "fifo.json");
        Tmpfs.Run("mkfifo", fifo, out _);
        string[] tiny = ["--model", "mlp", "--hidden", "8", "--epochs", "1", "--batch-size", "16", "--data-dir", data];
        var cases = new (string[] Args, string Expect)[]
        {
            (["train", "--epochs", "abc"], "--epochs"),
            (["train", "--bogus"], "--bogus"),
            (["frob"], "frob"),
            (["train", "--epochs", "0"], "--epochs"),
            (["train", "--batch-size", "-3"], "--batch-size"),
            (["train", "--lr", "NaN"], "--lr"),
            (["train", "--lr", "-1"], "--lr"),
            (["train", "--lr", "0,05"], "'0,05' for option '--lr' as a number (a list takes its values separated by spaces"),
            (["bench", "sparse", "--densities", "0.1,0.2"], "'--densities' as a number (a list"),
            (["train", "--train-limit", "-5"], "--train-limit"),
            (["train", "--clip-grad-norm", "-1"], "--clip-grad-norm"),
            (["train", "--warmup-epochs", "99", "--epochs", "2"], "--warmup-epochs"),
            (["train", "--model", "vgg"], "--model"),
            (["train", "--width", "-4"], "--width"),
            (["train", "--hidden", "64", "0"], "--hidden"),
            (["train", "--hidden", "64,32"], "'--hidden' as a whole number (a list takes its values separated by spaces);"),
            (["train", "--config", File_("classes.json", "{\"model_options\": {\"classes\": 0}}")], "model_options.classes"),
            (["train", "--data-dir", "/etc/passwd"], "is a file"),
            (["train", "--optimizer", "rmsprop"], "--optimizer"),
            (["train", "--device", "tpu"], "--device"),
            (["train", "--keep", "0.5"], "--keep needs --approx"),
            (["train", "--approx", "crs", "--keep", "1.5"], "--keep"),
            (["train", "--approx", "magic"], "--approx"),
            (["train", "--approx", "topk", "--approx-epsilon", "0.1"], "epsilon"),
            (["train", "--bn-recalibrate", "-1"], "--bn-recalibrate"),
            (["train", "--grad-prune", "1.2"], "--grad-prune"),
            (["train", "--grad-prune", "0.5", "--cos-floor", "0"], "--cos-floor"),
            (["train", "--grad-format", "fp99"], "--grad-format"),
            (["train", "--entropy-report-bits", "3"], "--entropy-report-bits needs --entropy-report"),
            (["train", "--entropy-report", "--entropy-report-bits", "0"], "--entropy-report-bits"),
            (["train", "--compress", "entropy", "--entropy-bits", "9"], "--entropy-bits"),
            (["train", "--resume"], "--resume needs --out"),
            (["bench", "gemm", "--model", "vgg"], "--model: 'vgg'"),
            (["train", "--config", Path.Combine(_dir, "missing.json")], "missing.json"),
            (["train", "--config", fifo], "named pipe"),
            (["train", "--config", "/dev/zero"], "character device"),
            (["train", "--config", _dir], "is a folder"),
            (["train", "--config", File_("typo.json", "{\"lerning_rate\": 0.1}")], "lerning_rate"),
            (["train", "--config", File_("case.json", "{\"Epochs\": 2}")], "Epochs"),
            (["train", "--config", File_("type.json", "{\"epochs\": \"ten\"}")], "$.epochs: expected a whole number"),
            (["train", "--config", File_("enum.json", "{\"grad_prune\": {\"mode\": \"random\"}}")], "not one of stochastic, deterministic, topk"),
            (["train", "--config", File_("section-type.json", "{\"grad_prune\": 0.8}")], "grad_prune"),
            (["train", "--config", File_("nan.json", "{\"learning_rate\": NaN}")], "nan.json"),
            (["train", "--config", File_("section.json", "{\"approx\": {\"keep\": 0}}")], "approx.keep"),
            (["train", "--config", File_("broken.json", "{\"epochs\": 3")], "broken.json"),
            (["train", .. tiny, "--out", File_("taken", "a file")], "is a file"),
            (["train", "--model", "mlp", "--epochs", "1", "--data-dir", Path.Combine(_dir, "nodata")], "nodata"),
            (["train", "--model", "mlp", "--hidden", "8", "--epochs", "1", "--data-dir", data, "--batch-size", "1000"], "--batch-size: 1000 is larger than the 64 training examples"),
            (["eval", "--checkpoint", Path.Combine(_dir, "none.safetensors"), "--data-dir", data], "none.safetensors"),
            (["eval", "--checkpoint", File_("junk.safetensors", "not a checkpoint at all"), "--data-dir", data], "junk.safetensors"),
            (["eval", "--checkpoint", Path.Combine(_dir, "none.safetensors"), "--data-dir", data, "--bn-recalibrate", "-1"], "--bn-recalibrate"),
        };
        foreach (var (args, expect) in cases)
        {
            var r = FrugalProcess.Run(TimeSpan.FromSeconds(60), args);
            var line = r.Stderr.Trim();
            output.WriteLine($"{string.Join(" ", args)}\n    -> exit {r.ExitCode}: {line}");
            Assert.False(r.TimedOut, $"{string.Join(" ", args)}: still running after 60 s");
            Assert.NotEqual(0, r.ExitCode);
            Assert.DoesNotContain('\n', line);
            Assert.StartsWith("frugal: ", line);
            Assert.Contains(expect, line);
            Assert.DoesNotContain("   at ", r.Stderr + r.Stdout);
            Assert.DoesNotContain("internal error", line);
        }
    }

    [Fact]
    public void A_list_flag_takes_its_values_after_one_name_as_its_help_says()
    {
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), SyntheticImages.Make(64, 4, 1), SyntheticImages.Make(32, 4, 2));
        var run = Path.Combine(_dir, "run");
        var r = FrugalProcess.Run(TimeSpan.FromSeconds(60), "train", "--model", "mlp", "--hidden", "16", "8", "--epochs", "1",
            "--batch-size", "16", "--data-dir", data, "--out", run);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal([16, 8], TrainOptions.FromJson(File.ReadAllText(Path.Combine(run, "config.json")), "config.json").ModelOptions.Hidden!);
    }

    /// <summary>Seeded mutations of a valid run config: each either reads as a valid config or is refused with an
    /// InvalidDataException naming the file — never another exception type, never accepted invalid.</summary>
    [Fact]
    public void Mutated_run_configs_are_read_correctly_or_refused_naming_the_file()
    {
        var valid = (new TrainOptions
        {
            Model = "cnn", Epochs = 3, GradPrune = new() { Sparsity = 0.8 }, GradFormat = new() { Format = "fp6" },
            Approx = new() { Keep = 0.7, Layers = "3,7=0.5" }, ModelOptions = new(Width: 8),
        }).ToJson();
        string[] tokens = ["0", "-1", "1e309", "NaN", "\"x\"", "null", "true", "[]", "{}", "1.5", "\"topk\"", "\"CRS\"", "99999999999"];
        var g = new Frugal.Tensors.Generator(12);
        int accepted = 0, refused = 0;
        for (int i = 0; i < 400; i++)
        {
            var text = valid.ToCharArray().ToList();
            int edits = 1 + g.NextInt(3);
            for (int e = 0; e < edits; e++)
            {
                int at = g.NextInt(text.Count);
                switch (g.NextInt(4))
                {
                    case 0: text.RemoveAt(at); break;                                               // delete a character
                    case 1: text.Insert(at, "{}[]:,\"0a-."[g.NextInt(11)]); break;                  // insert one
                    case 2: text.RemoveRange(at, Math.Min(text.Count - at, 1 + g.NextInt(20))); break; // cut a span
                    default:                                                                         // replace a value
                        int colon = valid.IndexOf(':', g.NextInt(valid.Length - 1));
                        if (colon < 0 || colon + 2 >= text.Count) break;
                        int end = colon + 2;
                        while (end < text.Count && text[end] is not (',' or '\n' or '}')) end++;
                        text.RemoveRange(colon + 2, end - colon - 2);
                        text.InsertRange(colon + 2, tokens[g.NextInt(tokens.Length)]);
                        break;
                }
            }
            var json = new string(text.ToArray());
            try
            {
                var o = TrainOptions.FromJson(json, "run.json");
                o.Validate();                                                   // accepted means valid
                accepted++;
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith("run.json: ", e.Message);
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{e.GetType().Name} ({e.Message}) on:\n{json}");
            }
        }
        output.WriteLine($"400 mutated configs: {accepted} read as valid configs, {refused} refused naming the file");
        Assert.True(refused > 200 && accepted > 0, $"accepted {accepted}, refused {refused}");
    }
}
