using Frugal.Checkpoints;
using Frugal.Nn;
using Frugal.Optim;
using Frugal.Runs;
using Frugal.Training;
using Xunit.Abstractions;
using static Frugal.Tests.Checkpoints.CheckpointFiles;

namespace Frugal.Tests.Checkpoints;

/// <summary>
/// Issue 11, checkpoints: every bad checkpoint.safetensors / model.safetensors ends in one InvalidDataException
/// (or FileNotFoundException) that names the file and what is wrong, and leaves the model and optimizer as they were.
/// </summary>
public sealed class CheckpointLoadTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("frugal-ckpt-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    RunFolder Folder => new(_dir);
    string CheckpointPath => Path.Combine(_dir, "checkpoint.safetensors");
    string ModelPath => Path.Combine(_dir, "model.safetensors");

    /// <summary>LoadCheckpoint into a fresh (differently seeded) model and momentum SGD must refuse, naming the file,
    /// and change neither; returns the message.</summary>
    string Refused(string expected, Func<Module, Optimizer>? optimizerFor = null)
    {
        var m = Model(seed: 7);
        var o = (optimizerFor ?? Sgd)(m);
        var before = Snapshot(m.StateDict());
        var optBefore = o.StateDict().Count;
        var ex = Assert.Throws<InvalidDataException>(() => Folder.LoadCheckpoint(m, o));
        output.WriteLine(ex.Message);
        Assert.Contains(CheckpointPath, ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.Equal(before, Snapshot(m.StateDict()));
        Assert.Equal(optBefore, o.StateDict().Count);
        return ex.Message;
    }

    string EvalRefused(string file, string expected)
    {
        var ex = Assert.Throws<InvalidDataException>(() => Checkpointing.Load(file, "mlp", new Models.ModelOptions(Hidden: [8])));
        output.WriteLine(ex.Message);
        Assert.Contains(file, ex.Message);
        Assert.Contains(expected, ex.Message);
        return ex.Message;
    }

    [Fact]
    public void A_valid_checkpoint_round_trips()
    {
        var (_, saved, savedOpt) = Write(_dir);
        var m = Model(seed: 7);
        var o = Sgd(m);
        var state = Folder.LoadCheckpoint(m, o);
        Assert.NotNull(state);
        Assert.Equal(1, state.Epoch);
        Assert.Equal(GeneratorState, state.GeneratorState);
        Assert.Equal(Snapshot(saved.StateDict()), Snapshot(m.StateDict()));
        Assert.Equal(savedOpt.StateDict().Keys.Order(), o.StateDict().Keys.Order());
        Assert.Equal(savedOpt.StateDict()["state.0.momentum_buffer"].ToArray(), o.StateDict()["state.0.momentum_buffer"].ToArray());
        var eval = Checkpointing.Load(ModelPath, "mlp", new Models.ModelOptions(Hidden: [8]));
        Assert.Equal(Snapshot(saved.StateDict()), Snapshot(eval.StateDict()));
        Assert.Equal(Snapshot(saved.StateDict()), Snapshot(Checkpointing.Load(CheckpointPath, "mlp", new Models.ModelOptions(Hidden: [8])).StateDict()));
    }

    // ---- 1. metadata --------------------------------------------------------------------------

    [Theory]
    [InlineData("epoch", "abc", "'epoch' is \"abc\", not a whole number")]
    [InlineData("epoch", "-1", "not a whole number")]
    [InlineData("epoch", "3.0", "not a whole number")]
    [InlineData("epoch", " 3", "not a whole number")]
    [InlineData("epoch", "", "not a whole number")]
    [InlineData("epoch", "0", "'epoch' is 0")]
    [InlineData("epoch", "2000000", "more than 1000000")]
    [InlineData("epoch", "99999999999999999999999", "more than 1000000")]
    [InlineData("epoch", null, "lacks 'epoch'")]
    [InlineData("generator", "1,2,3", "has 3 comma-separated words")]
    [InlineData("generator", "1,2,3,4,5", "has 5 comma-separated words")]
    [InlineData("generator", "", "has 1 comma-separated words")]
    [InlineData("generator", "1,2,x,4", "word 2 is \"x\"")]
    [InlineData("generator", "1,2,3,-4", "word 3")]
    [InlineData("generator", "18446744073709551616,1,1,1", "word 0")]
    [InlineData("generator", "0,0,0,0", "all zeros")]
    [InlineData("generator", null, "lacks 'generator'")]
    [InlineData("format", null, "lacks 'format'")]
    [InlineData("format", "frugal-checkpoint-2", "'format' is \"frugal-checkpoint-2\"")]
    [InlineData("format", "garbage\u0000\u00ff", "\"garbage\\u0000ÿ\", but this version reads only \"frugal-checkpoint-1\"")]
    public void Malformed_metadata_is_refused_naming_the_field(string key, string? value, string expected)
    {
        Write(_dir);
        Edit(CheckpointPath, (_, meta) => { if (value == null) meta.Remove(key); else meta[key] = value; });
        Refused(expected);
    }

    [Fact]
    public void No_metadata_at_all_is_refused()
    {
        Write(_dir);
        var (entries, _) = Read(CheckpointPath);
        CheckpointFiles.Write(CheckpointPath, entries, metadata: null);
        Refused("lacks 'format'");
    }

    // ---- 2. the tensor set --------------------------------------------------------------------

    [Fact]
    public void Missing_extra_and_foreign_keys_are_named()
    {
        Write(_dir);
        Edit(CheckpointPath, (e, _) => e.RemoveAll(x => x.Name == "model.3.bias"));
        Refused("missing 'model.3.bias'");

        Write(_dir);
        Edit(CheckpointPath, (e, _) => e.Add(new Entry("model.9.weight", "F32", [1], Floats(1))));
        Refused("unexpected 'model.9.weight'");

        Write(_dir);
        Edit(CheckpointPath, (e, _) => e.Add(new Entry("foo.bar", "F32", [1], Floats(1))));
        Refused("'foo.bar' is outside the 'model.' and 'optimizer.' sections");
        EvalRefused(CheckpointPath, "'foo.bar'");

        Write(_dir);
        Edit(CheckpointPath, (e, _) => e.Add(new Entry("optimizer.state.0.exp_avg", "F32", [1], Floats(1))));
        Refused("unexpected key 'state.0.exp_avg'"); // the optimizer's message, keyed within its section
    }

    [Fact]
    public void A_wrong_shape_is_named_and_nothing_is_half_loaded()
    {
        Write(_dir);
        // The last layer's bias reshaped [10] -> [2, 5]: same bytes, wrong shape, after three tensors that fit.
        Edit(CheckpointPath, (e, _) => { int i = e.FindIndex(x => x.Name == "model.3.bias"); e[i] = e[i] with { Shape = [2, 5] }; });
        Refused("'model.3.bias' has shape [2, 5]");

        Write(_dir);
        Edit(CheckpointPath, (e, _) => { int i = e.FindIndex(x => x.Name == "optimizer.state.3.momentum_buffer"); e[i] = e[i] with { Shape = [5, 2] }; });
        Refused("optimizer state does not fit this run's SGD");
    }

    [Theory]
    [InlineData("model.1.bias", "F64")]
    [InlineData("model.1.bias", "I32")]
    [InlineData("optimizer.step", "I64")]
    public void A_wrong_dtype_is_named(string key, string dtype)
    {
        Write(_dir);
        Edit(CheckpointPath, (e, _) =>
        {
            int i = e.FindIndex(x => x.Name == key);
            var floats = new float[e[i].Data.Length / 4];
            Buffer.BlockCopy(e[i].Data, 0, floats, 0, e[i].Data.Length);
            byte[] data = dtype switch
            {
                "F64" => [.. floats.SelectMany(f => BitConverter.GetBytes((double)f))],
                "I32" => [.. floats.SelectMany(f => BitConverter.GetBytes((int)f))],
                _ => [.. floats.SelectMany(f => BitConverter.GetBytes((long)f))],
            };
            e[i] = e[i] with { Dtype = dtype, Data = data };
        });
        Refused($"'{key}' is stored as {dtype}, expected F32");
    }

    [Fact]
    public void An_sgd_checkpoint_resumed_with_adam_is_named()
    {
        Write(_dir);
        Refused("was written by a run with the SGD optimizer; this run uses Adam", m => new Adam(m.Parameters()));
    }

    [Fact]
    public void A_model_file_that_does_not_fit_the_model_is_an_invalid_data_error()
    {
        Write(_dir);
        Edit(ModelPath, (e, _) => e.RemoveAll(x => x.Name == "1.weight"));
        EvalRefused(ModelPath, "missing '1.weight'");
        Write(_dir);
        var ex = Assert.Throws<InvalidDataException>(() => Checkpointing.Load(ModelPath, "mlp", new Models.ModelOptions(Hidden: [16])));
        Assert.Contains(ModelPath, ex.Message);
        Assert.Contains("'1.weight' has shape [8, 784], but model 'mlp' has [16, 784]", ex.Message);
    }

    // ---- 3. non-finite weights ----------------------------------------------------------------

    [Theory]
    [InlineData("model.1.weight", 5, float.NaN)]
    [InlineData("model.3.bias", 9, float.PositiveInfinity)]
    [InlineData("model.1.bias", 0, float.NegativeInfinity)]
    [InlineData("optimizer.state.0.momentum_buffer", 17, float.NaN)]
    public void Non_finite_values_are_refused_naming_the_tensor(string key, int index, float value)
    {
        Write(_dir);
        Edit(CheckpointPath, (e, _) =>
        {
            var d = e.Find(x => x.Name == key)!.Data;
            BitConverter.TryWriteBytes(d.AsSpan(4 * index), value);
        });
        Refused($"tensor '{key}' holds {value} at index {index}");
        if (key.StartsWith("model.", StringComparison.Ordinal))
        {
            EvalRefused(CheckpointPath, $"'{key}' holds {value}");
            Edit(ModelPath, (e, _) => BitConverter.TryWriteBytes(e.Find(x => x.Name == key[6..])!.Data.AsSpan(4 * index), value));
            EvalRefused(ModelPath, $"'{key[6..]}' holds {value}");
        }
    }

    [Fact]
    public void A_counter_must_be_a_whole_non_negative_number()
    {
        var file = Path.Combine(_dir, "bn.safetensors");
        CheckpointFiles.Write(file, [new Entry("bn.num_batches_tracked", "I64", [], BitConverter.GetBytes(-3L))], null);
        var ex = Assert.Throws<InvalidDataException>(() => CheckpointTensors.CheckAll(SafeTensors.Load(file), file, exactDtypes: false));
        Assert.Contains("'bn.num_batches_tracked' holds -3", ex.Message);
        CheckpointFiles.Write(file, [new Entry("bn.num_batches_tracked", "F32", [], Floats(3))], null);
        CheckpointTensors.CheckAll(SafeTensors.Load(file), file, exactDtypes: false);          // a whole count stored as a float: fine
        CheckpointFiles.Write(file, [new Entry("bn.num_batches_tracked", "F32", [], Floats(2.5f))], null);
        ex = Assert.Throws<InvalidDataException>(() => CheckpointTensors.CheckAll(SafeTensors.Load(file), file, exactDtypes: false));
        Assert.Contains("'bn.num_batches_tracked' holds 2.5", ex.Message);
        ex = Assert.Throws<InvalidDataException>(() => CheckpointTensors.CheckAll(SafeTensors.Load(file), file, exactDtypes: true));
        Assert.Contains("stored as F32, expected I64", ex.Message);      // a checkpoint for resume is Frugal's own: exact
    }

    // ---- 4. not a regular file ----------------------------------------------------------------

    [Fact]
    public void A_folder_where_the_checkpoint_should_be_is_refused_not_taken_for_no_checkpoint()
    {
        Directory.CreateDirectory(CheckpointPath);
        Refused("is a folder");
        Assert.Contains("is a folder", EvalRefused(CheckpointPath, CheckpointPath));
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(CheckpointPath));
        Assert.Contains(CheckpointPath, ex.Message);
    }

    [Fact]
    public void A_missing_file_is_file_not_found_naming_it()
    {
        Assert.Null(Folder.LoadCheckpoint(Model(), Sgd(Model()))); // no checkpoint: start from epoch 1
        var ex = Assert.Throws<FileNotFoundException>(() => Checkpointing.Load(ModelPath, "mlp"));
        Assert.Contains(ModelPath, ex.Message);
        Assert.Contains(ModelPath, Assert.Throws<FileNotFoundException>(() => SafeTensors.Load(ModelPath)).Message);
        File.WriteAllBytes(ModelPath, []);
        EvalRefused(ModelPath, "0 bytes");
    }

    [Fact]
    public async Task A_fifo_does_not_block_the_load()
    {
        if (OperatingSystem.IsWindows()) { output.WriteLine("SKIPPED: no mkfifo on Windows"); return; }
        using (var p = System.Diagnostics.Process.Start("mkfifo", [CheckpointPath])) p.WaitForExit();
        Assert.True(File.Exists(CheckpointPath), "mkfifo failed");

        var load = Task.Run(() => Folder.LoadCheckpoint(Model(), Sgd(Model())));
        var eval = Task.Run(() => Checkpointing.Load(CheckpointPath, "mlp"));
        var both = Task.WhenAll(load, eval);
        if (await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(10))) != both)
        {
            // Unblock the reader's open() so the test host is not left with a stuck thread, then fail.
            using (new FileStream(CheckpointPath, FileMode.Open, FileAccess.Write)) { }
            Assert.Fail("loading a FIFO blocked");
        }
        foreach (var t in new Task[] { load, eval })
        {
            var ex = Assert.IsType<InvalidDataException>(t.Exception!.InnerException);
            output.WriteLine(ex.Message);
            Assert.Contains(CheckpointPath, ex.Message);
            Assert.Contains("not a regular file", ex.Message);
        }
    }

    // ---- 5. malformed structure, through the checkpoint loader --------------------------------

    [Theory]
    [InlineData("header-beyond-file", "exceeds")]
    [InlineData("huge-header", "100000000")]
    [InlineData("not-json", "not valid JSON")]
    [InlineData("out-of-range", "out of range")]
    [InlineData("overlap", "overlap")]
    [InlineData("unknown-dtype", "unknown dtype 'F8_E5M2'")]
    [InlineData("size-mismatch", "needs")]
    [InlineData("truncated", "")]
    public void Malformed_structure_is_refused_naming_the_file(string how, string expected)
    {
        Write(_dir);
        var bytes = File.ReadAllBytes(CheckpointPath);
        int n = (int)BitConverter.ToUInt64(bytes);
        string header = System.Text.Encoding.UTF8.GetString(bytes, 8, n);
        var data = bytes[(8 + n)..];
        void Header(string h) => WriteRaw(CheckpointPath, h, data);
        switch (how)
        {
            case "header-beyond-file": BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)bytes.Length); File.WriteAllBytes(CheckpointPath, bytes); break;
            case "huge-header": BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), 1UL << 40); File.WriteAllBytes(CheckpointPath, bytes); break;
            case "not-json": Header(header.Replace("\"dtype\"", "dtype")); break;
            case "out-of-range": Header(Retarget(header, "optimizer.state.3.momentum_buffer", data.Length - 20)); break;
            case "overlap": Header(Retarget(header, "model.3.bias", 0)); break;
            case "unknown-dtype": Header(ReplaceFirst(header, "\"F32\"", "\"F8_E5M2\"")); break;
            case "size-mismatch": Header(ReplaceFirst(header, "\"shape\":[8]", "\"shape\":[9]")); break;
            case "truncated": File.WriteAllBytes(CheckpointPath, bytes[..^7]); break;
        }
        Refused(expected);
        EvalRefused(CheckpointPath, expected);
    }

    static string ReplaceFirst(string s, string from, string to)
    {
        int i = s.IndexOf(from, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{from}' not in the header");
        return s[..i] + to + s[(i + from.Length)..];
    }

    /// <summary>Moves one tensor's data_offsets to start at <paramref name="begin"/> (keeping its length).</summary>
    static string Retarget(string header, string name, long begin)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(header)!.AsObject();
        var off = node[name]!["data_offsets"]!.AsArray();
        long len = off[1]!.GetValue<long>() - off[0]!.GetValue<long>();
        node[name]!["data_offsets"] = new System.Text.Json.Nodes.JsonArray(begin, begin + len);
        return node.ToJsonString();
    }
}
