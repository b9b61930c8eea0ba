using Frugal.Options;

namespace Frugal.Cli;

/// <summary>Runs a command body and turns expected failures into one clear line and exit code 1 (no stack trace).</summary>
static class Cli
{
    public static int Run(Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (OptionException e)
        {
            // The library names the run-config key; the user typed a flag (or wrote the key in --config).
            Console.Error.WriteLine($"frugal: {TrainFlags.FlagFor(e.Key) ?? e.Key}: {e.Reason}");
            return 1;
        }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException or DirectoryNotFoundException
                                   or InvalidDataException or NotSupportedException or Training.TrainingDivergedException)
        {
            Console.Error.WriteLine($"frugal: {e.Message}");
            return 1;
        }
    }
}
