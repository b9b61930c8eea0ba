using System.Globalization;
using Frugal.Options;

namespace Frugal.Cli;

/// <summary>A flag's comma-separated list of numbers ("0.1,0.3,0.5"); a bad one is an error naming the key.</summary>
static class NumberList
{
    /// <param name="example">A valid list, quoted in the error.</param>
    public static double[] Parse(string text, string key, string example)
    {
        var values = new List<double>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            OptionException.Require(double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v),
                key, $"'{part}' is not a number (give e.g. {example})");
            values.Add(v);
        }
        OptionException.Require(values.Count > 0, key, "names no value");
        return values.ToArray();
    }
}
