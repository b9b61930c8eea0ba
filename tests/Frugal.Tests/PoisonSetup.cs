using System.Runtime.CompilerServices;

namespace Frugal.Tests;

static class PoisonSetup
{
    /// <summary>Every test runs with uninitialized buffers filled with NaN (see BufferPool.PoisonUninitialized).</summary>
    [ModuleInitializer]
    internal static void Init() => Frugal.Backends.Cpu.BufferPool.PoisonUninitialized = true;
}
