namespace Frugal.Distributed;

/// <summary>How an all-reduce combines the ranks' values.</summary>
public enum ReduceOp { Sum, Max, Min }
