namespace Frugal.Distributed;

/// <summary>
/// The 64-bit FNV-1a hash (h ← (h ⊕ v)·1099511628211 from 14695981039346656037): ranks compare what they hold — the
/// model's names and shapes, a Top-k selection — by all-gathering one number instead of the thing itself. Stable
/// across processes and machines, unlike <see cref="HashCode"/>.
/// </summary>
static class Fnv1a
{
    const ulong Offset = 14695981039346656037UL, Prime = 1099511628211UL;

    public static long Of(string s)
    {
        ulong h = Offset;
        foreach (char c in s) h = (h ^ c) * Prime;
        return (long)h;
    }

    /// <summary>The hash of <paramref name="first"/> followed by <paramref name="rest"/>.</summary>
    public static long Of(int first, ReadOnlySpan<int> rest)
    {
        ulong h = (Offset ^ (uint)first) * Prime;
        foreach (int v in rest) h = (h ^ (uint)v) * Prime;
        return (long)h;
    }
}
