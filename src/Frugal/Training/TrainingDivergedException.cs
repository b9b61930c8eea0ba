namespace Frugal.Training;

/// <summary>The loss became NaN or infinite; the run stopped and the last good checkpoint was kept.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
