namespace Frugal.Autograd;

/// <summary>
/// What a hook registration returns (PyTorch's RemovableHandle): <see cref="Remove"/>, or disposing it, unregisters
/// exactly that hook and leaves the others; removing twice is harmless. Hook lists are replaced, never changed in
/// place, so a hook may add or remove hooks while the hooks run.
/// </summary>
public sealed class RemovableHandle : IDisposable
{
    Action? _remove;

    internal RemovableHandle(Action remove) => _remove = remove;

    /// <summary>Registers <paramref name="hook"/> in the list behind <paramref name="get"/>/<paramref name="set"/>
    /// (null = none) and returns its handle. Adding and removing both replace the list, so hooks that run while one is
    /// added or removed finish over the list they started with.</summary>
    internal static RemovableHandle Add<T>(T hook, Func<List<T>?> get, Action<List<T>?> set) where T : class
    {
        set([.. get() ?? [], hook]);
        return new RemovableHandle(() =>
        {
            var current = get();
            int i = current?.FindIndex(h => ReferenceEquals(h, hook)) ?? -1;
            if (i < 0) return;
            var copy = new List<T>(current!);
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
