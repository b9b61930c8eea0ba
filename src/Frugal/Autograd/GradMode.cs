namespace Frugal.Autograd;

/// <summary>Whether ops record the graph. <c>using (GradMode.NoGrad()) { ... }</c> turns it off for a scope.</summary>
public static class GradMode
{
    [ThreadStatic] static int _disabledDepth;

    public static bool IsEnabled => _disabledDepth == 0;

    public static IDisposable NoGrad()
    {
        _disabledDepth++;
        return new Scope();
    }

    sealed class Scope : IDisposable
    {
        bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _disabledDepth--;
        }
    }
}
