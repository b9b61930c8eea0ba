namespace Frugal.Training;

/// <summary>Observes a run: progress display, logging, method statistics. All members are optional.</summary>
public interface ITrainingCallback
{
    void OnRunStart(TrainOptions options, int startEpoch, int batchesPerEpoch) { }
    void OnBatchEnd(int epoch, int batch, int batches, double loss, double samplesPerSecond) { }
    void OnEvaluate(int epoch) { }
    void OnEpochEnd(EpochMetrics metrics) { }
    void OnMessage(string message) { }
}
