namespace Frugal.Training;

/// <summary>The learning rate at an optimisation step, from the run options (pure function of the step, so resume needs no state).</summary>
public static class LearningRateSchedule
{
    public static double At(TrainOptions o, int step, int stepsPerEpoch)
    {
        double epoch = (double)step / stepsPerEpoch;
        double lr = o.Schedule switch
        {
            // Cosine annealing to 0 over the run (PyTorch's CosineAnnealingLR closed form, T_max = all steps).
            "cosine" => 0.5 * o.LearningRate * (1 + Math.Cos(Math.PI * step / Math.Max(1.0, o.Epochs * stepsPerEpoch))),
            "step" => o.LearningRate * Math.Pow(o.StepGamma, Math.Floor(epoch / o.StepEpochs)),
            _ => o.LearningRate,
        };
        if (o.WarmupEpochs > 0 && epoch < o.WarmupEpochs) lr *= (step + 1) / (o.WarmupEpochs * stepsPerEpoch);
        return lr;
    }
}
