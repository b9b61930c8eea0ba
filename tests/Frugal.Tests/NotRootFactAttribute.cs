namespace Frugal.Tests;

/// <summary>A test of file permissions, which root ignores: skipped, with that reason, when the tests run as root.</summary>
public sealed class NotRootFactAttribute : FactAttribute
{
    public NotRootFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "Unix file permissions only";
        else if (Environment.UserName == "root") Skip = "running as root: file permissions are not enforced for root";
    }
}
