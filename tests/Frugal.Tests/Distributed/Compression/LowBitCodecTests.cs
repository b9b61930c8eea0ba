using System.Buffers.Binary;
using Frugal.Distributed.Compression;
using Frugal.Methods.Compression;
using Frugal.Ops;

namespace Frugal.Tests.Distributed.Compression;

/// <summary>The low-bit codec against <see cref="FloatFormat"/>'s own encoding, its per-piece scales, and the bit packing.</summary>
public class LowBitCodecTests
{
    [Theory]
    [InlineData("e4m3fn")]
    [InlineData("e5m2")]
    [InlineData("e3m2")]
    [InlineData("e2m3fn")]
    [InlineData("e2m1")]
    [InlineData("e1m2")]
    [InlineData("e5m10")]
    public void Codes_are_the_formats_nearest_even_codes_of_the_scaled_values(string name)
    {
        var format = FloatFormat.Parse(name);
        int[] sizes = [333, 1, 70];
        var bucket = CompressorHarness.Bucket(0, sizes);
        var x = CompressorHarness.Mixed(2, sizes);
        x[5] = -x[5]; x[6] = 0; x[7] = -0f;
        var codec = new LowBitCodec(format, Rounding.NearestEven, bucket);
        int bytes = codec.EncodedBytes(0, x.Length);
        Assert.Equal(4 * 3 + BitPacking.Bytes(x.Length, format.Bits), bytes);
        var code = new byte[bytes];
        codec.Encode(x, 0, code, 0);

        var stream = code.AsSpan(12);
        var decoded = new float[x.Length];
        codec.Decode(code, 0, decoded);
        int offset = 0;
        for (int s = 0; s < sizes.Length; s++)
        {
            float scale = BinaryPrimitives.ReadSingleLittleEndian(code.AsSpan(4 * s));
            float largest = x.Skip(offset).Take(sizes[s]).Max(MathF.Abs);
            Assert.Equal(0, MathF.ScaleB(1, MathF.ILogB(scale)) - scale);                      // a power of two
            if (largest > 0) Assert.InRange(largest * scale, format.MaxFinite / 2, format.MaxFinite);
            for (int i = offset; i < offset + sizes[s]; i++)
            {
                Assert.Equal(format.Encode(x[i] * scale), (int)BitPacking.Read(stream, (long)i * format.Bits, format.Bits));
                Assert.Equal(format.Decode(format.Encode(x[i] * scale)) / scale, decoded[i]);
            }
            offset += sizes[s];
        }
    }

    [Theory]
    [InlineData("e4m3fn", false)]
    [InlineData("e4m3fn", true)]
    [InlineData("e2m1", true)]
    [InlineData("e5m10", true)]
    [InlineData("e6m1", false)]
    [InlineData("e8m7", true)]
    public void Simd_codes_equal_the_scalar_reference_at_odd_lengths(string name, bool stochastic)
    {
        var format = FloatFormat.Parse(name);
        var encoder = new LowBitEncoder(format, stochastic);
        var rng = new Random(1);
        foreach (int n in new[] { 0, 1, 7, 33, 1000 })
        {
            // Magnitudes over 40 binades below the max (normals, denormals, flushed), zeros, and one infinity.
            var x = Enumerable.Range(0, n).Select(i => i % 17 == 3 ? 0f : (float)((rng.Next(2) * 2 - 1) * format.MaxFinite * Math.Pow(2, -40 * rng.NextDouble()))).ToArray();
            if (n > 30) x[30] = float.PositiveInfinity;
            var codes = new uint[n];
            encoder.Codes(x, 0.5f, 12345, 7, codes);
            for (int i = 0; i < n; i++) Assert.Equal(encoder.Code(x[i] * 0.5f, 12345, 7 + (uint)i), codes[i]);
        }
    }

    [Fact]
    public void A_range_is_cut_at_segment_boundaries_and_only_there()
    {
        var bucket = CompressorHarness.Bucket(0, 10, 0, 5, 20);
        var codec = new LowBitCodec(FloatFormat.E4M3FN, Rounding.NearestEven, bucket);
        Assert.Equal(0, codec.EncodedBytes(3, 0));
        Assert.Equal(4 + 7, codec.EncodedBytes(0, 7));           // inside p0
        Assert.Equal(4 * 3 + 12, codec.EncodedBytes(5, 12));      // p0 | p2 | p3 (p1 is empty)
        Assert.Equal(4 * 3 + 35, codec.EncodedBytes(0, 35));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(11)]
    [InlineData(16)]
    public void Bit_packing_round_trips_at_odd_lengths(int bits)
    {
        var rng = new Random(bits);
        foreach (int n in new[] { 0, 1, 7, 33, 1000 })
        {
            var codes = Enumerable.Range(0, n).Select(_ => (uint)rng.Next(1 << bits)).ToArray();
            var bytes = new byte[BitPacking.Bytes(n, bits)];
            Assert.Equal((n * bits + 7) / 8, bytes.Length);
            var w = new BitWriter(bytes, bits);
            foreach (var c in codes) w.Write(c);
            w.Flush();
            Assert.Equal(codes, Enumerable.Range(0, n).Select(i => BitPacking.Read(bytes, (long)i * bits, bits)).ToArray());
        }
    }

    [Fact]
    public void Six_bit_codes_take_three_bytes_per_four_values_in_stream_order()
    {
        var bytes = new byte[3];
        var w = new BitWriter(bytes, 6);
        foreach (uint c in new uint[] { 0b000001, 0b000010, 0b000011, 0b111111 }) w.Write(c);
        w.Flush();
        // Little-endian bit stream: 000001 | 000010 | 000011 | 111111 from bit 0 up.
        uint stream = bytes[0] | (uint)bytes[1] << 8 | (uint)bytes[2] << 16;
        Assert.Equal(1u | 2u << 6 | 3u << 12 | 63u << 18, stream);
    }
}
