namespace Frugal.Training;

/// <summary>Observes a run: progress display, logging, method statistics. All members are optional.</summary>
public interface ITrainingCallback
{
    /// <summary>Before the first epoch trained in this call (<paramref name="startEpoch"/> &gt; 1 after a resume).</summary>
    void OnRunStart(int startEpoch, int epochs, int batchesPerEpoch) { }
    void OnBatchEnd(int epoch, int batch, int batches, double loss, double samplesPerSecond) { }
    void OnEvaluate(int epoch) { }
    void OnEpochEnd(EpochMetrics metrics) { }
    void OnMessage(string message) { }
}
