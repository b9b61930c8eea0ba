using System.Numerics;
using Frugal.Backends;
using Frugal.Methods.Compression;

namespace Frugal.Distributed.Compression;

/// <summary>
/// The codes of float32 values in a <see cref="FloatFormat"/>, rounded to nearest even or stochastically, computed on
/// the float bits, in SIMD lanes with a scalar reference (<see cref="Code"/>). Nearest rounding gives exactly
/// <see cref="FloatFormat.Encode"/>'s codes for finite values within the format (the tests compare every format).
/// </summary>
/// <remarks>
/// At or above the smallest normal 2^emin, the float bits minus (126 + emin)·2^23 are the target's exponent field and
/// mantissa followed by 23 − M extra mantissa bits, so rounding those away gives the code, a carry moving into the
/// exponent as it should: nearest even adds 2^(22−M) − 1 plus the lowest kept bit; stochastic rounding adds 23 − M
/// random bits (from <see cref="CounterRandom.Bits24(uint, uint)"/>(key, index)), rounding up with probability exactly
/// the discarded fraction. Below 2^emin the code is the denormal count k = |v|·2^(M−emin) rounded (nearest even, or up
/// when 24 random bits fall below the fraction·2^24, as <see cref="FloatRounding"/> does). Codes saturate at the
/// largest finite one; non-finite values take <see cref="FloatFormat.Encode"/>'s codes.
/// </remarks>
internal readonly struct LowBitEncoder
{
    readonly FloatFormat _format;
    readonly bool _stochastic, _vectorDenormals;
    readonly int _bits, _shift;
    readonly uint _minNormalBits, _rebias, _maxCode;
    readonly double _denormalUnit;

    public LowBitEncoder(FloatFormat format, bool stochastic)
    {
        _format = format;
        _stochastic = stochastic;
        _bits = format.Bits;
        _shift = 23 - format.MantissaBits;
        _minNormalBits = (uint)(127 + format.MinExponent) << 23;
        _rebias = (uint)(127 + format.MinExponent - 1) << 23;
        _maxCode = (uint)format.Encode(format.MaxFinite);
        _denormalUnit = Math.ScaleB(1.0, format.MantissaBits - format.MinExponent);
        _vectorDenormals = _denormalUnit <= 1 << 30;     // in float lanes, |v|·2^(M−emin) stays exact and small
    }

    /// <summary>The code of <paramref name="v"/> (already scaled); <paramref name="index"/> picks its random bits.</summary>
    public uint Code(float v, uint key, uint index)
    {
        uint bits = BitConverter.SingleToUInt32Bits(v), a = bits & 0x7FFF_FFFFu;
        uint sign = (bits >> 31) << (_bits - 1);
        if (a >= 0x7F80_0000u) return (uint)_format.Encode(v);
        if (a >= _minNormalBits)
        {
            uint rebased = a - _rebias;
            uint round = _stochastic ? CounterRandom.Bits24(key, index) >> (24 - _shift) : (1u << (_shift - 1)) - 1 + ((rebased >> _shift) & 1);
            return sign | Math.Min((rebased + round) >> _shift, _maxCode);
        }
        double t = BitConverter.UInt32BitsToSingle(a) * _denormalUnit;
        double k = _stochastic
            ? Math.Floor(t) + (CounterRandom.Bits24(key, index) < (t - Math.Floor(t)) * (1 << 24) ? 1 : 0)
            : Math.Round(t, MidpointRounding.ToEven);
        return sign | Math.Min((uint)k, _maxCode);
    }

    /// <summary>codes[i] = Code(values[i]·scale, key, firstIndex + i).</summary>
    public void Codes(ReadOnlySpan<float> values, float scale, uint key, uint firstIndex, Span<uint> codes)
    {
        int i = 0, w = Vector<uint>.Count;
        if (Vector.IsHardwareAccelerated && values.Length >= w)
        {
            var vScale = new Vector<float>(scale);
            var magnitudeMask = new Vector<uint>(0x7FFF_FFFFu);
            var infinity = new Vector<uint>(0x7F80_0000u);
            var minNormal = new Vector<uint>(_minNormalBits);
            var rebias = new Vector<uint>(_rebias);
            var maxCode = new Vector<uint>(_maxCode);
            var half = new Vector<uint>((1u << (_shift - 1)) - 1);
            var unit = new Vector<float>((float)_denormalUnit);
            var twoTo23 = new Vector<float>(1 << 23);
            var vKey = new Vector<uint>(key);
            var lane = Vector<uint>.Indices;
            for (; i <= values.Length - w; i += w)
            {
                var bits = Vector.AsVectorUInt32(new Vector<float>(values[i..]) * vScale);
                var a = bits & magnitudeMask;
                var denormal = Vector.LessThan(a, minNormal);
                if (Vector.GreaterThanOrEqualAny(a, infinity) || (!_vectorDenormals && denormal != Vector<uint>.Zero))
                {
                    for (int j = i; j < i + w; j++) codes[j] = Code(values[j] * scale, key, firstIndex + (uint)j);
                    continue;
                }
                var sign = Vector.ShiftLeft(Vector.ShiftRightLogical(bits, 31), _bits - 1);
                var rebased = a - rebias;
                Vector<uint> normal, k;
                var t = Vector.AsVectorSingle(a) * unit;                       // the denormal count, exact
                if (_stochastic)
                {
                    var random = CounterRandom.Bits24(vKey, lane + new Vector<uint>(firstIndex + (uint)i));
                    normal = Vector.ShiftRightLogical(rebased + Vector.ShiftRightLogical(random, 24 - _shift), _shift);
                    var floor = Vector.Floor(t);
                    var up = Vector.LessThan(Vector.ConvertToSingle(random), (t - floor) * new Vector<float>(1 << 24));
                    k = Vector.ConvertToUInt32(floor) - Vector.AsVectorUInt32(up);       // a true lane is all ones: −(−1)
                }
                else
                {
                    normal = Vector.ShiftRightLogical(rebased + half + (Vector.ShiftRightLogical(rebased, _shift) & Vector<uint>.One), _shift);
                    k = Vector.ConvertToUInt32(t + twoTo23 - twoTo23);            // t < 2^23: float addition rounds to nearest even
                }
                var code = Vector.ConditionalSelect(denormal, k, normal);
                (Vector.Min(code, maxCode) | sign).CopyTo(codes[i..]);
            }
        }
        for (; i < values.Length; i++) codes[i] = Code(values[i] * scale, key, firstIndex + (uint)i);
    }
}
