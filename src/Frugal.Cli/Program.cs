using System.CommandLine;
using Frugal.Cli;
using Frugal.Runs;
using Spectre.Console;

var root = new RootCommand("frugal: train deep networks with less compute, memory and communication");

// ---- train -------------------------------------------------------------------------------
var train = new Command("train", "Train a model on Fashion-MNIST (or any MNIST-format data) and write a run folder");
var config = new Option<FileInfo?>("--config") { Description = "JSON run config (TrainOptions fields); flags given on the command line override it" };
var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint" };
train.Options.Add(config);
train.Options.Add(resume);
train.Options.Add(DataInstaller.NoInstall);
TrainFlags.AddTo(train);
train.SetAction(parse => Cli.Run(group =>
    {
        var start = new TrainOptions();
        if (parse.GetValue(config) is { } cfg)
        {
            start = TrainOptions.FromJson(Frugal.IO.RegularFile.ReadAllText(cfg.FullName, "--config"), cfg.FullName);
        }
        var options = TrainFlags.Read(parse, start).Validate();
        bool resuming = parse.GetValue(resume);
        if (resuming && options.Out == null) throw new ArgumentException("--resume needs --out (the run folder to continue)");
        if (group.Rank == 0) DataInstaller.EnsureFashionMnist(options.DataDir, parse);
        group.Barrier();
        if (options.Layerwise != null && group.Size > 1)
            throw new ArgumentException($"--layerwise: trains in one process; run it without mpirun (this job has {group.Size} ranks)");
        if (options.Partitions != null)
        {
            // Partition threads report plain lines (a progress bar would be redrawn from K threads).
            var partitioned = RunBuilder.BuildPartitions(options, group);
            partitioned.Callbacks.Add(new ConsoleProgress(options, group));
            partitioned.Run(options.Epochs, resuming);
            if (options.Out != null) Console.WriteLine($"run folder: {options.Out}");
            return;
        }
        var progress = new ConsoleProgress(options, group);
        Action run;
        if (options.Layerwise != null)
        {
            var layerwise = RunBuilder.BuildLayerwise(options);
            layerwise.Callbacks.Add(progress);
            run = () => layerwise.Run(options.Epochs, resuming);
        }
        else
        {
            var trainer = RunBuilder.Build(options, group);
            // Under mpirun rank 0 alone reports; the others train silently.
            if (group.Rank != 0) { trainer.Run(options.Epochs, resuming); return; }
            trainer.Callbacks.Add(progress);
            if (ConsoleProgress.BatchNormNote(options, trainer.Model) is { } note) Console.WriteLine(note);
            run = () => trainer.Run(options.Epochs, resuming);
        }
        if (progress.Interactive)
            AnsiConsole.Progress().AutoClear(false).HideCompleted(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx => { progress.Attach(ctx); run(); });
        else run();
        if (options.Out != null) Console.WriteLine($"run folder: {options.Out}");
    }));
root.Subcommands.Add(train);

// ---- eval --------------------------------------------------------------------------------
var eval = new Command("eval", "Evaluate a model.safetensors checkpoint on the test set");
var ckpt = new Option<FileInfo>("--checkpoint") { Description = "model.safetensors written by frugal train (or PyTorch with the same keys)", Required = true };
var evalModel = new Option<string?>("--model") { Description = "Model the checkpoint belongs to: mlp, cnn, lenet or resnet (default: from config.json beside the checkpoint, else cnn)" };
var evalData = new Option<string?>("--data-dir") { Description = "Folder of MNIST-format IDX files (default: Debian's Fashion-MNIST)" };
var evalDevice = new Option<string>("--device") { Description = "Device: cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
var evalRecalibrate = new Option<int>("--bn-recalibrate") { Description = "First re-estimate the batch norms' running statistics from this many training batches of 128 (exact forward, no gradients, as PyTorch's update_bn; 0 = evaluate as saved)", DefaultValueFactory = _ => 0 };
eval.Options.Add(ckpt); eval.Options.Add(evalModel); eval.Options.Add(evalData); eval.Options.Add(evalDevice); eval.Options.Add(evalRecalibrate); eval.Options.Add(DataInstaller.NoInstall);
eval.SetAction(parse => Cli.Run(() =>
{
    DataInstaller.EnsureFashionMnist(parse.GetValue(evalData), parse);
    var (loss, acc) = Checkpointing.Evaluate(parse.GetValue(ckpt)!.FullName, parse.GetValue(evalModel), parse.GetValue(evalData), parse.GetValue(evalDevice)!,
        parse.GetValue(evalRecalibrate));
    Console.WriteLine($"test loss {loss:F4}, test accuracy {100 * acc:F2}%");
}));
root.Subcommands.Add(eval);

// ---- lr-search ---------------------------------------------------------------------------
root.Subcommands.Add(LrSearchCommand.Create());

// ---- bench -------------------------------------------------------------------------------
root.Subcommands.Add(BenchCommand.Create());

// ---- selftest ----------------------------------------------------------------------------
root.Subcommands.Add(SelfTestCommand.Create());

// ---- quantize ----------------------------------------------------------------------------
root.Subcommands.Add(QuantizeCommand.Create());

// ---- simulate ----------------------------------------------------------------------------
root.Subcommands.Add(SimulateCommand.Create());

// ---- zap ---------------------------------------------------------------------------------
root.Subcommands.Add(ZapCommand.Create());

// ---- plot --------------------------------------------------------------------------------
root.Subcommands.Add(PlotCommand.Create());

// ---- fit-closed-form ----------------------------------------------------------------------
root.Subcommands.Add(ClosedFormCommand.Create());

// ---- development: emulator sources (tools/cuda-emu/build.sh) --------------------------------
var emuSources = new Command("cuda-emulator-sources", "Write the C++ sources of the CPU emulator of the CUDA backend's kernels") { Hidden = true };
var emuOut = new Option<DirectoryInfo>("--out") { Description = "Folder to write the .cpp files to", Required = true };
emuSources.Options.Add(emuOut);
emuSources.SetAction(parse => Cli.Run(() => Frugal.Backends.Cuda.Kernels.EmulatorSources.Write(parse.GetValue(emuOut)!.FullName)));
root.Subcommands.Add(emuSources);

Cli.RefuseCommasInNumbers(root);
var parsed = root.Parse(args);
// One line for a mistyped command line, not the whole help text (that is what --help is for).
if (parsed.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h") && !args.Contains("-?"))
    return Cli.UsageError(parsed);
return parsed.Invoke();
