namespace Frugal.Optim;

/// <summary>
/// torch.optim.lr_scheduler.CosineAnnealingLR in its closed form (SGDR, Loshchilov &amp; Hutter 2017, eq. 5,
/// without restarts): lr = ηmin + (baseLr − ηmin)·(1 + cos(π·step/tMax))/2. Past tMax the cosine climbs
/// again, as PyTorch's does; stop at tMax or wrap the schedule to hold ηmin.
/// </summary>
public sealed record CosineAnnealing : ILrSchedule
{
    public double BaseLr { get; }
    public int TMax { get; }
    public double EtaMin { get; }

    public CosineAnnealing(double baseLr, int tMax, double etaMin = 0)
    {
        LrSchedule.CheckRate("CosineAnnealing", "base learning rate", baseLr);
        LrSchedule.CheckRate("CosineAnnealing", "eta_min", etaMin);
        if (tMax <= 0) throw new ArgumentException($"CosineAnnealing: T_max must be > 0, got {tMax}");
        BaseLr = baseLr; TMax = tMax; EtaMin = etaMin;
    }

    public double LearningRate(int step)
    {
        LrSchedule.CheckStep("CosineAnnealing", step);
        return EtaMin + (BaseLr - EtaMin) * (1 + Math.Cos(Math.PI * step / TMax)) / 2;
    }
}
