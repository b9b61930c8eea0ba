using Frugal.Methods.LocalLearning;
using Frugal.Options;
using Frugal.Runs;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.LocalLearning;

public class PartitionOptionsTests
{
    [Fact]
    public void Options_are_validated_by_key()
    {
        Assert.Equal("k", Assert.Throws<OptionException>(() => new PartitionOptions { K = 0 }.Validate()).Key);
        Assert.Equal("queue_depth", Assert.Throws<OptionException>(() => new PartitionOptions { QueueDepth = 0 }.Validate()).Key);
        Assert.Equal("aux_depth", Assert.Throws<OptionException>(() => new PartitionOptions { AuxDepth = -1 }.Validate()).Key);
        Assert.Equal("schedule", Assert.Throws<OptionException>(() => new PartitionOptions { Schedule = (PartitionSchedule)7 }.Validate()).Key);
        var run = new TrainOptions { Partitions = new PartitionOptions { QueueDepth = 0 } };
        Assert.Equal("partitions.queue_depth", Assert.Throws<OptionException>(() => run.Validate()).Key);
        var mixed = new TrainOptions { Partitions = new PartitionOptions(), Kure = new() };
        Assert.Contains("kure", Assert.Throws<OptionException>(() => mixed.Validate()).Reason);
    }

    [Fact]
    public void A_run_config_section_round_trips_and_the_builder_checks_k_against_the_model()
    {
        var o = TrainOptions.FromJson("""{"partitions": {"k": 3, "schedule": "pipelined", "queue_depth": 1}}""", "test.json");
        Assert.Equal(new PartitionOptions { K = 3, Schedule = PartitionSchedule.Pipelined, QueueDepth = 1 }, o.Partitions);
        Assert.Equal(o, TrainOptions.FromJson(o.ToJson(), "again.json"));
        var data = SyntheticImages.Make(64, 4, seed: 1);
        var tooMany = o with { Model = "mlp", ModelOptions = new Frugal.Models.ModelOptions(Hidden: [8]), BatchSize = 16, Partitions = o.Partitions! with { K = 3 } };
        var e = Assert.Throws<OptionException>(() => RunBuilder.BuildPartitions(tooMany, data, data));
        Assert.Equal("partitions.k", e.Key);
        Assert.Contains("2 stages", e.Reason);
        var built = RunBuilder.BuildPartitions(tooMany with { Partitions = o.Partitions! with { K = 2 } }, data, data);
        Assert.Equal(2, built.Partitions.Count);
    }
}
