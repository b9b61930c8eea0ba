namespace Frugal.Autograd;

/// <summary>
/// What a hook registration returns (PyTorch's RemovableHandle): <see cref="Remove"/>, or disposing it, unregisters
/// exactly that hook and leaves the others; removing twice is harmless. Hook lists are copied on removal, so a hook
/// may remove itself (or another) while the hooks run.
/// </summary>
public sealed class RemovableHandle : IDisposable
{
    Action? _remove;

    internal RemovableHandle(Action remove) => _remove = remove;

    /// <summary>Registers <paramref name="hook"/> in <paramref name="hooks"/> (created on first use) and returns its handle.</summary>
    internal static RemovableHandle Add<T>(ref List<T>? hooks, T hook, Func<List<T>?> get, Action<List<T>?> set) where T : class
    {
        (hooks ??= []).Add(hook);
        return new RemovableHandle(() =>
        {
            var current = get();
            if (current == null) return;
            int i = current.FindIndex(h => ReferenceEquals(h, hook));
            if (i < 0) return;
            var copy = new List<T>(current);
            copy.RemoveAt(i);
            set(copy.Count == 0 ? null : copy);
        });
    }

    public void Remove()
    {
        var remove = _remove;
        _remove = null;
        remove?.Invoke();
    }

    public void Dispose() => Remove();
}
