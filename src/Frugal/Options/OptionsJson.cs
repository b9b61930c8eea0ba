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
                : Explain(e.Message.Split(". Path:")[0]);
            throw new InvalidDataException($"{source}: {(e.Path is { Length: > 1 } p ? $"at {p}: " : "")}{what}", e);
        }
    }

    /// <summary>"could not be converted to System.Int32" in the words of a config's author; an enum lists its names.</summary>
    static string Explain(string message)
    {
        var m = System.Text.RegularExpressions.Regex.Match(message, @"could not be converted to ([\w.`\[\]]+)");
        if (!m.Success) return message;
        var name = m.Groups[1].Value;
        var type = typeof(OptionsJson).Assembly.GetType(name);
        if (type is { IsEnum: true })
        {
            var names = (IReadOnlyList<string>)typeof(EnumNames<>).MakeGenericType(type).GetProperty(nameof(EnumNames<DayOfWeek>.All))!.GetValue(null)!;
            return $"not one of {string.Join(", ", names)}";
        }
        return name switch
        {
            "System.Int32" or "System.Int64" or "System.UInt64" => "expected a whole number",
            "System.Double" or "System.Single" => "expected a number",
            "System.Boolean" => "expected true or false",
            "System.String" => "expected a string",
            "System.Int32[]" => "expected a list of whole numbers",
            _ => $"expected a {type?.Name ?? name} section",
        };
    }

    public static string Write<T>(T value, bool indented = true) =>
        JsonSerializer.Serialize(value, indented ? Options : Compact);

    static readonly JsonSerializerOptions Compact = new(Options) { WriteIndented = false };
}
