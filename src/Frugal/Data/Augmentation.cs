namespace Frugal.Data;

/// <summary>Training-time augmentation: random crop after zero padding, and horizontal flip.</summary>
public sealed record Augmentation(int CropPadding = 0, bool HorizontalFlip = false)
{
    public static Augmentation None { get; } = new();
    public bool Enabled => CropPadding > 0 || HorizontalFlip;
}
