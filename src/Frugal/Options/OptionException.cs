namespace Frugal.Options;

/// <summary>
/// A setting that cannot be used, named by its key as written in a JSON run config (snake_case, sections joined by
/// '.', e.g. "grad_prune.cos_floor"). The library names keys only; a front end that maps its own names to keys (the
/// CLI's flags) rewrites <see cref="Key"/> into its own name, so one validation serves both.
/// </summary>
public sealed class OptionException(string key, string reason) : ArgumentException($"{key}: {reason}")
{
    public string Key { get; } = key;
    /// <summary>What is wrong and what to do, without the key.</summary>
    public string Reason { get; } = reason;

    /// <summary>Runs a section's validation, naming its keys under <paramref name="section"/>.</summary>
    public static T InSection<T>(string section, Func<T> validate)
    {
        try { return validate(); }
        catch (OptionException e) { throw new OptionException($"{section}.{e.Key}", e.Reason); }
    }

    /// <summary>Throws unless <paramref name="ok"/>; NaN never passes a range check written as (lo &lt; x &amp;&amp; x &lt; hi).</summary>
    public static void Require([System.Diagnostics.CodeAnalysis.DoesNotReturnIf(false)] bool ok, string key, string reason)
    {
        if (!ok) throw new OptionException(key, reason);
    }
}
