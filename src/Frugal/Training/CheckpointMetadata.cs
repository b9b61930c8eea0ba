// What a checkpoint.safetensors's "__metadata__" must say for --resume to trust it: the format tag, the epoch
// it was written after, and the xoshiro256** state of Generator.Default. Every field is checked before any of it
// is used, so a hand-edited or corrupted file is refused with the field named instead of resuming at a wrong
// epoch or with a generator that (all-zero) would emit zeros forever.
using System.Globalization;

namespace Frugal.Training;

internal static class CheckpointMetadata
{
    /// <summary>The only layout this reader knows (RunFolder.SaveCheckpoint writes it).</summary>
    public const string Format = "frugal-checkpoint-1";

    /// <summary>Far beyond any real run; a larger epoch is corruption (and epoch + 1 must not overflow).</summary>
    public const int MaxEpoch = 1_000_000;

    public static RunFolder.CheckpointState Parse(IReadOnlyDictionary<string, string> meta, string path)
    {
        string Field(string key, string what) => meta.TryGetValue(key, out var v) ? v
            : throw Bad(path, $"metadata lacks '{key}' ({what}); not a Frugal checkpoint, or written by another tool");

        var format = Field("format", $"expected \"{Format}\"");
        if (format != Format)
            throw Bad(path, $"metadata 'format' is \"{Shorten(format)}\", but this version reads only \"{Format}\"");
        return new RunFolder.CheckpointState(
            Epoch(Field("epoch", "the epoch the checkpoint was written after"), path),
            GeneratorState(Field("generator", "the random generator's state"), path));
    }

    static int Epoch(string text, string path)
    {
        // Digits only, so " 3", "+3", "3.0" and "-1" are refused rather than guessed at.
        if (text.Length == 0 || !text.All(char.IsAsciiDigit))
            throw Bad(path, $"metadata 'epoch' is \"{Shorten(text)}\", not a whole number");
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int epoch) || epoch > MaxEpoch)
            throw Bad(path, $"metadata 'epoch' is {Shorten(text)}, more than {MaxEpoch} epochs: the file is corrupt");
        if (epoch < 1)
            throw Bad(path, $"metadata 'epoch' is {epoch}; a checkpoint is written after an epoch, so it is at least 1");
        return epoch;
    }

    static ulong[] GeneratorState(string text, string path)
    {
        var words = text.Split(',');
        if (words.Length != 4)
            throw Bad(path, $"metadata 'generator' has {words.Length} comma-separated words, xoshiro256** needs 4 (\"{Shorten(text)}\")");
        var state = new ulong[4];
        for (int i = 0; i < 4; i++)
            if (!ulong.TryParse(words[i], NumberStyles.None, CultureInfo.InvariantCulture, out state[i]))
                throw Bad(path, $"metadata 'generator' word {i} is \"{Shorten(words[i])}\", not an unsigned 64-bit integer");
        // xoshiro's one forbidden state: it maps to itself, and every "random" number would be 0.
        if (state.All(w => w == 0))
            throw Bad(path, "metadata 'generator' is all zeros, which xoshiro256** can never reach; the file is corrupt");
        return state;
    }

    /// <summary>Corrupt metadata can be megabytes long or hold control characters; quote enough of it to recognise, printably.</summary>
    static string Shorten(string s)
    {
        var head = string.Concat((s.Length <= 80 ? s : s[..80]).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        return s.Length <= 80 ? head : head + $"... ({s.Length} chars)";
    }

    internal static InvalidDataException Bad(string path, string what) => new($"{path}: {what}");
}
