using Frugal.Distributed.Stragglers;
using Frugal.Options;

namespace Frugal.Tests.Distributed.Stragglers;

public class DropComputeOptionsTests
{
    [Theory]
    [InlineData("threshold")]
    [InlineData("warmup_steps")]
    [InlineData("calibration_steps")]
    [InlineData("drop_rate")]
    [InlineData("straggler_delay")]
    public void Impossible_settings_are_refused_naming_the_key(string key)
    {
        var bad = key switch
        {
            "threshold" => new DropComputeOptions { Threshold = -0.1 },
            "warmup_steps" => new DropComputeOptions { WarmupSteps = -1 },
            "calibration_steps" => new DropComputeOptions { CalibrationSteps = 0 },
            "drop_rate" => new DropComputeOptions { DropRate = 1 },
            _ => new DropComputeOptions { StragglerDelay = double.NaN },
        };
        Assert.Equal(key, Assert.Throws<OptionException>(() => bad.Validate()).Key);
    }

    [Fact]
    public void Random_drop_excludes_a_threshold()
    {
        var e = Assert.Throws<OptionException>(() => new DropComputeOptions { Threshold = 1, DropRate = 0.1 }.Validate());
        Assert.Equal("drop_rate", e.Key);
        Assert.Contains("not both", e.Reason);
    }

    [Fact]
    public void Automatic_threshold_needs_six_micro_batches()
    {
        var e = Assert.Throws<OptionException>(() => new DropComputeOptions().Validate(5));
        Assert.Equal("micro_batches", e.Key);
        Assert.Contains("at least 6 micro-batches", e.Reason);
        new DropComputeOptions().Validate(6);
        new DropComputeOptions { Threshold = 0.5 }.Validate(2);          // a fixed τ works with any M
        new DropComputeOptions { DropRate = 0.1 }.Validate(1);
        Assert.Throws<OptionException>(() => new DropCompute(new DropComputeOptions(), 5, new Frugal.Distributed.SingleProcessGroup(), 0));
    }

    [Fact]
    public void Modes_follow_from_the_settings()
    {
        Assert.Equal(DropComputeMode.Auto, new DropComputeOptions().Mode);
        Assert.Equal(DropComputeMode.Fixed, new DropComputeOptions { Threshold = 1 }.Mode);
        Assert.Equal(DropComputeMode.Random, new DropComputeOptions { DropRate = 0.1 }.Mode);
        Assert.Equal(DropComputeMode.Off, new DropComputeOptions { Threshold = 1, Drop = false }.Mode);
    }

    [Fact]
    public void Json_keys_are_snake_case_and_round_trip()
    {
        var o = new DropComputeOptions { Threshold = 0.25, Normalization = DropComputeNormalization.Actual, StragglerDelay = 1.5, CheckBeforeBackward = false };
        var json = OptionsJson.Write(o);
        foreach (var key in new[] { "\"threshold\"", "\"warmup_steps\"", "\"calibration_steps\"", "\"normalization\": \"actual\"", "\"check_before_backward\"", "\"drop_rate\"", "\"straggler_delay\"" })
            Assert.Contains(key, json);
        Assert.DoesNotContain("mode", json);
        Assert.Equal(o, OptionsJson.Read<DropComputeOptions>(json, "test"));
    }
}
