using Frugal.Methods.LocalLearning;
using Frugal.Options;
using Frugal.Runs;

namespace Frugal.Tests.Methods.LocalLearning;

public class LayerwiseOptionsTests
{
    [Theory]
    [InlineData("aux_depth")]
    [InlineData("stage_epochs")]
    [InlineData("cache_limit_mb")]
    [InlineData("overparameterize")]
    [InlineData("window_epochs")]
    public void Validate_names_the_key(string key)
    {
        var bad = key switch
        {
            "aux_depth" => new LayerwiseOptions { AuxDepth = -1 },
            "stage_epochs" => new LayerwiseOptions { StageEpochs = -1 },
            "cache_limit_mb" => new LayerwiseOptions { CacheLimitMb = double.NaN },
            "overparameterize" => new LayerwiseOptions { Overparameterize = 0.5 },
            _ => new LayerwiseOptions { WindowEpochs = -2 },
        };
        Assert.Equal(key, Assert.Throws<OptionException>(() => bad.Validate()).Key);
        Assert.Equal("layerwise." + key, Assert.Throws<OptionException>(() => new TrainOptions { Layerwise = bad }.Validate()).Key);
    }

    [Fact]
    public void Run_configs_read_the_section_and_refuse_what_does_not_combine()
    {
        var o = TrainOptions.FromJson("""{"layerwise": {"aux_depth": 2, "cache": "off", "window_epochs": 1}}""", "run.json");
        Assert.Equal(new LayerwiseOptions { AuxDepth = 2, Cache = ActivationCacheMode.Off, WindowEpochs = 1 }, o.Layerwise);
        Assert.Contains("layerwise.overparameterize", Assert.Throws<InvalidDataException>(() =>
            TrainOptions.FromJson("""{"layerwise": {"overparameterize": 0.5}}""", "run.json")).Message);
        Assert.Equal("layerwise", Assert.Throws<OptionException>(() => new TrainOptions { Layerwise = new(), Kure = new() }.Validate()).Key);
        Assert.Equal("layerwise.cache", Assert.Throws<OptionException>(() =>
            new TrainOptions { Layerwise = new() { Cache = ActivationCacheMode.On }, CropPadding = 2 }.Validate()).Key);
    }

    [Fact]
    public void The_run_epochs_split_over_the_stages_with_the_remainder_first()
    {
        Assert.Equal([2, 2, 2, 2, 1, 1], new LayerwiseOptions().EpochsPerStage(10, 6));
        Assert.Equal([1, 1, 1, 1, 1, 1], new LayerwiseOptions().EpochsPerStage(3, 6));
        Assert.Equal([3, 3, 3], new LayerwiseOptions { StageEpochs = 3 }.EpochsPerStage(10, 3));
    }
}
