using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Frugal.Options;

/// <summary>
/// The names an enumerated option is written with in run configs and on the command line: snake_case of the member,
/// or its <see cref="JsonStringEnumMemberNameAttribute"/>. Declared once, on the enum; JSON, the CLI's flags and the
/// error messages all read them from here.
/// </summary>
public static class EnumNames<T> where T : struct, Enum
{
    static readonly (T Value, string Name)[] _all = Enum.GetValues<T>().Select(v => (v, NameOf(v))).ToArray();

    /// <summary>Every allowed name, in declaration order.</summary>
    public static IReadOnlyList<string> All { get; } = _all.Select(p => p.Name).ToArray();

    public static string Name(T value) => _all.First(p => p.Value.Equals(value)).Name;

    /// <summary>The value named <paramref name="text"/>; an <see cref="OptionException"/> on <paramref name="key"/> listing the names otherwise.</summary>
    public static T Parse(string text, string key)
    {
        foreach (var (v, n) in _all) if (n == text) return v;
        throw new OptionException(key, $"'{text}' is not one of {string.Join(", ", All)}");
    }

    static string NameOf(T value)
    {
        var member = typeof(T).GetField(value.ToString())!;
        return member.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name
            ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());
    }
}
