namespace Frugal.Tests.Distributed;

/// <summary>A test that launches mpirun: skipped, saying how to install Open MPI, where it is missing.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute() { if (Mpirun.Unavailable is { } reason) Skip = reason; }
}

/// <summary>The <see cref="MpiFactAttribute"/> of a theory.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    public MpiTheoryAttribute() { if (Mpirun.Unavailable is { } reason) Skip = reason; }
}

/// <summary>Tests that launch mpirun run alone: each job's ranks already use every core.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MpiCollection
{
    public const string Name = "launches mpirun (serial)";
}
