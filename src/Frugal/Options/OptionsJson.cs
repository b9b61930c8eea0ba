using System.Text.Json;
using System.Text.Json.Serialization;

namespace Frugal.Options;

/// <summary>
/// How option records read and write JSON: snake_case keys, enums as their names (<see cref="EnumNames{T}"/>), and
/// unknown keys an error that names the key (a misspelt "lerning_rate" must not silently train at the default).
/// </summary>
public static class OptionsJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
        WriteIndented = true,
    };

    /// <summary>Reads a <typeparamref name="T"/> from <paramref name="json"/>; errors name <paramref name="source"/> and the key.</summary>
    public static T Read<T>(string json, string source) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw new InvalidDataException($"{source}: is empty (null)");
        }
        catch (JsonException e)
        {
            // System.Text.Json names the path ("$.grad_prune.sparsity") and what was wrong; keep it to one line.
            var what = e.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? "unknown key (keys are snake_case; check the spelling)"
                : e.Message.Split(". Path:")[0];
            throw new InvalidDataException($"{source}: {(e.Path is { Length: > 1 } p ? $"at {p}: " : "")}{what}", e);
        }
    }

    public static string Write<T>(T value, bool indented = true) =>
        JsonSerializer.Serialize(value, indented ? Options : Compact);

    static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };
}
