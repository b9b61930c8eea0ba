using Frugal.Options;

namespace Frugal.Cli;

/// <summary>
/// Runs a command body and turns every failure into one line on stderr and a non-zero exit code: expected ones
/// (bad input, missing files, a full disk, divergence) say what and what to do (exit 1); an unexpected one is a bug,
/// and says so and where its full trace was written (exit 70). No stack trace reaches the user.
/// </summary>
static class Cli
{
    /// <summary>A command line that does not parse: its first error (an unknown word before a missing one) and where help is.</summary>
    public static int UsageError(System.CommandLine.ParseResult parsed)
    {
        var error = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
        var names = new List<string>();
        for (var r = parsed.CommandResult; r != null; r = r.Parent as System.CommandLine.Parsing.CommandResult) names.Insert(0, r.Command.Name);
        names[0] = "frugal";
        var message = error.Message.TrimEnd('.')
            .Replace("as expected type 'System.Int32'", "as a whole number").Replace("as expected type 'System.UInt64'", "as a whole number ≥ 0")
            .Replace("as expected type 'System.Double'", "as a number").Replace("as expected type 'System.Single'", "as a number");
        // A list typed the way many tools take it ("0.1,0.2") is one unparsable token here.
        if (message.StartsWith("Cannot parse argument '", StringComparison.Ordinal) && message.Split('\'')[1].Contains(','))
            message += message.Contains("whole number", StringComparison.Ordinal)
                ? " (a list takes its values separated by spaces)"
                : " (a list takes its values separated by spaces, numbers with a decimal point)";
        Console.Error.WriteLine($"frugal: {message}; see: {string.Join(" ", names)} --help");
        return 2;
    }

    /// <summary>
    /// Makes every number option of the tree refuse a comma: .NET's number parsing takes it as a thousands separator,
    /// so "--lr 0,05" would silently train at 5 and "--densities 0.1,0.2" read as one number.
    /// </summary>
    public static void RefuseCommasInNumbers(System.CommandLine.Command command)
    {
        foreach (var option in command.Options)
        {
            var type = Nullable.GetUnderlyingType(option.ValueType) ?? option.ValueType.GetElementType() ?? option.ValueType;
            if (type != typeof(double) && type != typeof(float)) continue;
            option.Validators.Add(result =>
            {
                foreach (var token in result.Tokens)
                    if (token.Value.Contains(','))
                        result.AddError($"Cannot parse argument '{token.Value}' for option '{option.Name}' as a number");
            });
        }
        foreach (var sub in command.Subcommands) RefuseCommasInNumbers(sub);
    }

    public static int Run(Action body) => Run(_ => body(), () => new Distributed.SingleProcessGroup());

    /// <summary>
    /// Runs a body that may train data-parallel: under mpirun it gets this process's rank of the job (else one
    /// process). A rank that fails ends the whole job at once (MPI_Abort), so no rank waits for it until a timeout.
    /// </summary>
    public static int Run(Action<Distributed.IProcessGroup> body) => Run(body, () => Distributed.ProcessGroups.FromEnvironment());

    static int Run(Action<Distributed.IProcessGroup> body, Func<Distributed.IProcessGroup> join)
    {
        Distributed.IProcessGroup? group = null;
        int code = Attempt(() =>
        {
            group = join();
            body(group);
            group.Dispose();
        }, () => group is { Size: > 1 } g ? $"rank {g.Rank}: " : "");
        if (code != 0 && group is Distributed.Mpi.MpiProcessGroup { Size: > 1 } mpi) mpi.Abort(code);
        return code;
    }

    static int Attempt(Action body, Func<string> rank)
    {
        try
        {
            body();
            return 0;
        }
        catch (OptionException e)
        {
            // The library names the run-config key; the user typed a flag (or wrote the key in --config).
            Console.Error.WriteLine($"frugal: {rank()}{TrainFlags.FlagFor(e.Key) ?? e.Key}: {e.Reason}");
            return 1;
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or InvalidDataException
                                   or NotSupportedException or Training.TrainingDivergedException or Distributed.DistributedException)
        {
            Console.Error.WriteLine($"frugal: {rank()}{OneLine(e.Message)}");
            return 1;
        }
        catch (Exception e)
        {
            var trace = Path.Combine(Path.GetTempPath(), $"frugal-crash-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}.txt");
            try { IO.AtomicFile.WriteAllText(trace, e.ToString()); }
            catch (Exception) { trace = "(not written: the temporary folder is not writable)"; }
            Console.Error.WriteLine($"frugal: internal error, a bug in frugal ({e.GetType().Name}: {OneLine(e.Message)}); " +
                                    $"the full trace is in {trace}; please report it with the command line");
            return 70;
        }
    }

    static string OneLine(string message) => string.Join(" ", message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
}
