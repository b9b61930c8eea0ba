using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Frugal.Checkpoints;
using Frugal.Tensors;
using Xunit.Abstractions;

namespace Frugal.Tests.Checkpoints;

public sealed class SafeTensorsTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("frugal-st-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string PathFor(string name) => Path.Combine(_dir, name);

    static (string, Tensor)[] BatchNormLike() =>
    [
        ("0.weight", Tensor.FromArray([1.5f, -2.25f, 3e-8f, float.MaxValue, -0f, 7f], 2, 3)),
        ("0.bias", Tensor.FromArray([0.1f, -0.2f], 2)),
        ("1.running_mean", Tensor.FromArray([0.5f, 0.25f], 2)),
        ("1.num_batches_tracked", Tensor.Scalar(1234)),
        ("empty", Tensor.Zeros(new Shape(0, 4))),
    ];

    static bool IsCounter(string name) => name.EndsWith("num_batches_tracked", StringComparison.Ordinal);

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Round_trip_with_int64_buffer_and_metadata(string device)
    {
        var d = Device.Parse(device);
        var tensors = BatchNormLike().Select(p => (p.Item1, p.Item2.To(d))).ToArray();
        var file = PathFor("m.safetensors");
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "3", ["note"] = "ünïcode \"quoted\"" };
        SafeTensors.Save(file, tensors, meta, IsCounter);

        var loaded = SafeTensors.Load(file, d);
        Assert.Equal(tensors.Select(t => t.Item1), loaded.Tensors.Keys);
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.Shape, loaded[name].Shape);
            Assert.Equal(d, loaded[name].Device);
            Assert.Equal(t.ToArray(), loaded[name].ToArray());
        }
        Assert.Equal("I64", loaded.Dtypes["1.num_batches_tracked"]);
        Assert.Equal("F32", loaded.Dtypes["0.weight"]);
        Assert.Equal(meta, loaded.Metadata);
    }

    [Fact]
    public void Layout_is_aligned_little_endian_and_in_order()
    {
        var file = PathFor("layout.safetensors");
        SafeTensors.Save(file, BatchNormLike(), isInt64: IsCounter);
        var bytes = File.ReadAllBytes(file);
        long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        Assert.All(bytes.AsSpan(8, (int)n).ToArray().Reverse().TakeWhile(b => b != (byte)'}'), b => Assert.Equal((byte)' ', b));

        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var entries = doc.RootElement.EnumerateObject().ToArray();
        Assert.Equal(["0.weight", "0.bias", "1.running_mean", "1.num_batches_tracked", "empty"], entries.Select(e => e.Name));
        Assert.DoesNotContain(entries, e => e.Name == "__metadata__"); // none given, none written
        var w = doc.RootElement.GetProperty("0.weight");
        Assert.Equal("F32", w.GetProperty("dtype").GetString());
        Assert.Equal([2, 3], w.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal([0, 24], w.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()));
        var c = doc.RootElement.GetProperty("1.num_batches_tracked");
        Assert.Equal("I64", c.GetProperty("dtype").GetString());
        Assert.Equal(0, c.GetProperty("shape").GetArrayLength());
        Assert.Equal([40, 48], c.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()));

        var data = bytes.AsSpan(8 + (int)n);
        Assert.Equal(48, data.Length);
        Assert.Equal(1.5f, BinaryPrimitives.ReadSingleLittleEndian(data));
        Assert.Equal(-2.25f, BinaryPrimitives.ReadSingleLittleEndian(data[4..]));
        Assert.Equal(1234L, BinaryPrimitives.ReadInt64LittleEndian(data[40..]));
    }

    [Fact]
    public void Int64_storage_rejects_non_integers()
    {
        var file = PathFor("bad-int.safetensors");
        var ex = Assert.Throws<ArgumentException>(() =>
            SafeTensors.Save(file, [("n", Tensor.FromArray([1f, 2.5f], 2))], isInt64: _ => true));
        Assert.Contains("'n'", ex.Message);
        Assert.Contains("2.5", ex.Message);
        Assert.False(File.Exists(file));
        Assert.Empty(Directory.GetFiles(_dir)); // no temp file left behind
    }

    [Fact]
    public void Save_rejects_duplicate_and_reserved_names()
    {
        var t = Tensor.Zeros(1);
        Assert.Contains("duplicate", Assert.Throws<ArgumentException>(() => SafeTensors.Save(PathFor("d"), [("a", t), ("a", t)])).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => SafeTensors.Save(PathFor("d"), [("__metadata__", t)])).Message);
    }

    static IEnumerable<(string, Tensor)> ThrowsMidway()
    {
        yield return ("a", Tensor.Ones(3));
        throw new IOException("simulated failure while producing tensors");
    }

    [Fact]
    public void Failed_save_leaves_the_previous_file_intact()
    {
        var file = PathFor("keep.safetensors");
        SafeTensors.Save(file, [("old", Tensor.FromArray([42f], 1))]);
        var before = File.ReadAllBytes(file);

        Assert.Throws<IOException>(() => SafeTensors.Save(file, ThrowsMidway()));
        Assert.Throws<ArgumentException>(() => SafeTensors.Save(file, [("x", Tensor.FromArray([0.5f], 1))], isInt64: _ => true));

        Assert.Equal(before, File.ReadAllBytes(file));
        Assert.Equal([42f], SafeTensors.Load(file)["old"].ToArray());
        Assert.Equal([file], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Save_overwrites_an_existing_file()
    {
        var file = PathFor("over.safetensors");
        SafeTensors.Save(file, [("a", Tensor.Ones(100))]);
        SafeTensors.Save(file, [("b", Tensor.FromArray([2f], 1))]);
        Assert.Equal(["b"], SafeTensors.Load(file).Tensors.Keys);
    }

    // ---- hand-crafted files -------------------------------------------------------------------

    /// <summary>A file with the given JSON header and data buffer, built without the writer under test.</summary>
    string Craft(string json, byte[] data, ulong? declaredLength = null, string name = "crafted.safetensors")
    {
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        var file = PathFor(name);
        File.WriteAllBytes(file, bytes);
        return file;
    }

    string LoadFails(string file)
    {
        var ex = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(file));
        Assert.Contains(file, ex.Message);
        output.WriteLine(ex.Message);
        return ex.Message;
    }

    static byte[] Floats(params float[] v)
    {
        var b = new byte[4 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }

    [Fact]
    public void Reads_other_dtypes_as_float32()
    {
        var data = new List<byte>();
        data.AddRange(new byte[] { 0x00, 0x3E, 0x00, 0xC0 });        // F16 1.5, -2
        data.AddRange(new byte[] { 0xC0, 0x3F, 0x80, 0xC0 });        // BF16 1.5, -4
        data.AddRange(BitConverter.GetBytes(0.1));                    // F64
        data.AddRange(BitConverter.GetBytes(-7L));                    // I64
        data.AddRange(BitConverter.GetBytes(123456));                 // I32
        data.AddRange(new byte[] { 200, 0xFF, 1, 0 });                // U8 200, I8 -1, BOOL true, false
        var file = Craft("""
            {"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},
             "b":{"dtype":"BF16","shape":[2],"data_offsets":[4,8]},
             "d":{"dtype":"F64","shape":[],"data_offsets":[8,16]},
             "l":{"dtype":"I64","shape":[1],"data_offsets":[16,24]},
             "i":{"dtype":"I32","shape":[1,1],"data_offsets":[24,28]},
             "u":{"dtype":"U8","shape":[1],"data_offsets":[28,29]},
             "s":{"dtype":"I8","shape":[1],"data_offsets":[29,30]},
             "t":{"dtype":"BOOL","shape":[2],"data_offsets":[30,32]}}
            """, [.. data]);
        var f = SafeTensors.Load(file);
        Assert.Equal([1.5f, -2f], f["h"].ToArray());
        Assert.Equal([1.5f, -4f], f["b"].ToArray());
        Assert.Equal([0.1f], f["d"].ToArray());
        Assert.Equal(new Shape(), f["d"].Shape);
        Assert.Equal([-7f], f["l"].ToArray());
        Assert.Equal([123456f], f["i"].ToArray());
        Assert.Equal(new Shape(1, 1), f["i"].Shape);
        Assert.Equal([200f], f["u"].ToArray());
        Assert.Equal([-1f], f["s"].ToArray());
        Assert.Equal([1f, 0f], f["t"].ToArray());
        Assert.Equal("BF16", f.Dtypes["b"]);
        Assert.Empty(f.Metadata);
    }

    [Fact]
    public void Tensors_come_back_in_data_order_not_header_order()
    {
        var file = Craft("""{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", Floats(1, 2));
        var f = SafeTensors.Load(file);
        Assert.Equal(["a", "b"], f.Tensors.Keys);
        Assert.Equal([2f], f["b"].ToArray());
    }

    [Fact]
    public void Header_length_beyond_file_or_limit()
    {
        Assert.Contains("exceeds", LoadFails(Craft("{}", [], declaredLength: 1000)));
        Assert.Contains("100000000", LoadFails(Craft("{}", [], declaredLength: 200_000_000)));
        Assert.Contains("exceeds", LoadFails(Craft("{}", [], declaredLength: ulong.MaxValue)));
        var file = PathFor("tiny.safetensors");
        File.WriteAllBytes(file, [1, 2, 3]);
        Assert.Contains("too short", LoadFails(file));
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}""", "JSON")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x""", "JSON")]
    [InlineData("""[1, 2]""", "JSON object")]
    [InlineData("""{"a":[0,4]}""", "not an object")]
    [InlineData("""{"a":{"shape":[1],"data_offsets":[0,4]}}""", "missing field 'dtype'")]
    [InlineData("""{"a":{"dtype":"F32","data_offsets":[0,4]}}""", "missing field 'shape'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1]}}""", "missing field 'data_offsets'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", "non-negative")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", "non-negative")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}""", "[begin, end]")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}""", "non-negative")]
    [InlineData("""{"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,4]}}""", "unknown dtype 'F8_E4M3'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}""", "needs 8")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}""", "end before")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "out of range")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "overlap tensor 'a'")]
    [InlineData("""{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}""", "trailing")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", "duplicate tensor name 'a'")]
    [InlineData("""{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "metadata 'k'")]
    [InlineData("""{"__metadata__":[],"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "__metadata__")]
    [InlineData("""{"a":{"dtype":"F32","shape":[65536,65536],"data_offsets":[0,4]}}""", "more than")]
    public void Malformed_headers_fail_with_clear_messages(string json, string expected)
    {
        var message = LoadFails(Craft(json, Floats(1)));
        Assert.Contains(expected, message);
    }

    [Fact]
    public void Partial_overlap()
    {
        var file = Craft("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", Floats(1, 2));
        Assert.Contains("tensor 'b': data_offsets [4, 8] overlap tensor 'a' [0, 8]", LoadFails(file));
    }

    [Fact]
    public void Hole_in_the_data_buffer()
    {
        var file = Craft("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", Floats(1, 2, 3));
        Assert.Contains("hole at bytes [4, 8)", LoadFails(file));
        file = Craft("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", Floats(1, 2));
        Assert.Contains("hole at bytes [0, 4)", LoadFails(file));
    }

    [Fact]
    public void Invalid_utf8_header()
    {
        var header = Encoding.UTF8.GetBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
        header[2] = 0xFF; // inside the name
        var bytes = new byte[8 + header.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        var file = PathFor("utf8.safetensors");
        File.WriteAllBytes(file, bytes);
        Assert.Contains("UTF-8", LoadFails(file));
    }

    // ---- cross-check with PyTorch --------------------------------------------------------------

    const string Python = "/usr/bin/python3";

    /// <summary>Runs a python script; null (with the reason logged) when python3 with torch is unavailable.</summary>
    string? RunPython(string script, params string[] args)
    {
        if (!File.Exists(Python)) { output.WriteLine($"SKIPPED: {Python} not found"); return null; }
        var scriptFile = PathFor("check.py");
        File.WriteAllText(scriptFile, script);
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(scriptFile);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000)) { p.Kill(); Assert.Fail("python timed out"); }
        if (p.ExitCode == 3) { output.WriteLine($"SKIPPED: {Python} cannot import torch: {stderr.Result.Trim()}"); return null; }
        Assert.True(p.ExitCode == 0, $"python failed ({p.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }

    const string Prelude = """
        import json, struct, sys
        try:
            import torch
        except Exception as e:
            print(e, file=sys.stderr); sys.exit(3)
        """;

    /// <summary>
    /// Frugal writes a BatchNorm-shaped state dict; a tiny independent reader (json + struct + torch.frombuffer)
    /// parses it, checks the layout rules, and loads it into torch.nn.BatchNorm1d with strict=True.
    /// </summary>
    [Fact]
    public void Pytorch_reads_what_frugal_writes()
    {
        var file = PathFor("bn.safetensors");
        SafeTensors.Save(file,
        [
            ("weight", Tensor.FromArray([1.5f, -2.25f, 3e-8f], 3)),
            ("bias", Tensor.FromArray([0.1f, -0.2f, 1e30f], 3)),
            ("running_mean", Tensor.FromArray([0.5f, 0.25f, -8f], 3)),
            ("running_var", Tensor.FromArray([1f, 2f, 3f], 3)),
            ("num_batches_tracked", Tensor.Scalar(1234)),
        ], new Dictionary<string, string> { ["format"] = "pt" }, IsCounter);

        var stdout = RunPython(Prelude + """

            path = sys.argv[1]
            raw = open(path, 'rb').read()
            (n,) = struct.unpack('<Q', raw[:8])
            assert n % 8 == 0, n
            header = json.loads(raw[8:8 + n].decode('utf-8'))
            buf = bytearray(raw[8 + n:])
            meta = header.pop('__metadata__', {})
            dtypes = {'F32': torch.float32, 'I64': torch.int64}
            state, out, at = {}, {}, 0
            for name, e in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
                b, end = e['data_offsets']
                assert b == at, (name, b, at)
                t = torch.frombuffer(buf, dtype=dtypes[e['dtype']], count=(end - b) // torch.tensor([], dtype=dtypes[e['dtype']]).element_size(), offset=b)
                t = t.reshape(e['shape'])
                state[name] = t
                out[name] = {'dtype': str(t.dtype), 'shape': list(t.shape), 'values': t.flatten().tolist()}
                at = end
            assert at == len(buf)
            bn = torch.nn.BatchNorm1d(3)
            bn.load_state_dict(state, strict=True)
            out['__loaded__'] = {'num_batches_tracked': int(bn.num_batches_tracked), 'dtype': str(bn.num_batches_tracked.dtype),
                                 'weight': bn.weight.detach().tolist()}
            out['__metadata__'] = meta
            print(json.dumps(out))
            """, file);
        if (stdout is null) return;

        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        void Same(string name, string dtype, int[] shape, double[] values)
        {
            var e = r.GetProperty(name);
            Assert.Equal(dtype, e.GetProperty("dtype").GetString());
            Assert.Equal(shape, e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()));
            Assert.Equal(values, e.GetProperty("values").EnumerateArray().Select(x => x.GetDouble()));
        }
        // float32 values widen exactly to the doubles python prints.
        Same("weight", "torch.float32", [3], [1.5, -2.25, (double)3e-8f]);
        Same("bias", "torch.float32", [3], [(double)0.1f, (double)-0.2f, (double)1e30f]);
        Same("running_mean", "torch.float32", [3], [0.5, 0.25, -8]);
        Same("num_batches_tracked", "torch.int64", [], [1234]);
        Assert.Equal(1234, r.GetProperty("__loaded__").GetProperty("num_batches_tracked").GetInt32());
        Assert.Equal("torch.int64", r.GetProperty("__loaded__").GetProperty("dtype").GetString());
        Assert.Equal("pt", r.GetProperty("__metadata__").GetProperty("format").GetString());
    }

    /// <summary>PyTorch writes F16/BF16/F64/I64/I32 tensors by hand (json + struct); Frugal reads them as float32.</summary>
    [Fact]
    public void Frugal_reads_what_pytorch_writes()
    {
        var file = PathFor("torch.safetensors");
        var stdout = RunPython(Prelude + """

            torch.manual_seed(0)
            base = torch.randn(2, 3) * 100
            tensors = {
                'f16': base.half(), 'bf16': base.bfloat16(), 'f64': base.double(),
                'i64': torch.arange(-3, 3).reshape(3, 2), 'i32': torch.tensor([7, -9], dtype=torch.int32),
                'f32': base,
            }
            codes = {torch.float16: 'F16', torch.bfloat16: 'BF16', torch.float64: 'F64', torch.int64: 'I64', torch.int32: 'I32', torch.float32: 'F32'}
            header, blobs, at, expected = {'__metadata__': {'source': 'torch'}}, [], 0, {}
            for name, t in tensors.items():
                data = bytes(t.contiguous().flatten().view(torch.uint8).tolist())
                header[name] = {'dtype': codes[t.dtype], 'shape': list(t.shape), 'data_offsets': [at, at + len(data)]}
                blobs.append(data); at += len(data)
                expected[name] = t.float().flatten().tolist()
            h = json.dumps(header).encode('utf-8')
            h += b' ' * (-len(h) % 8)
            with open(sys.argv[1], 'wb') as f:
                f.write(struct.pack('<Q', len(h))); f.write(h)
                for b in blobs: f.write(b)
            print(json.dumps(expected))
            """, file);
        if (stdout is null) return;

        using var doc = JsonDocument.Parse(stdout);
        var loaded = SafeTensors.Load(file);
        Assert.Equal("torch", loaded.Metadata["source"]);
        Assert.Equal(["f16", "bf16", "f64", "i64", "i32", "f32"], loaded.Tensors.Keys);
        Assert.Equal(new Shape(3, 2), loaded["i64"].Shape);
        foreach (var e in doc.RootElement.EnumerateObject())
        {
            var expected = e.Value.EnumerateArray().Select(x => (float)x.GetDouble()).ToArray();
            Assert.Equal(expected, loaded[e.Name].ToArray());
        }
    }
}
