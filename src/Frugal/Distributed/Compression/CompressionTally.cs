namespace Frugal.Distributed.Compression;

/// <summary>
/// What a compressor sent in an epoch against an exact fp32 all-reduce of the same buckets (DESIGN.md: measured, not
/// claimed). Figures: compress_payload_bytes (the encoded bytes of this rank's gradients, one copy of each bucket),
/// compress_fp32_bytes (4 per value), compress_saved_bytes (their difference), compress_ratio = fp32 / payload (4
/// digits); compress_wire_bytes (what this rank's
/// collectives put on the wire during the compressor's calls, read from <see cref="IProcessGroup.Traffic"/>),
/// compress_fp32_wire_bytes (the ring all-reduce's 2(N−1)/N·4L) and compress_wire_ratio = fp32 wire / wire (N &gt; 1).
/// </summary>
internal sealed class CompressionTally
{
    long _values, _payload, _wire;
    double _exactWire;

    /// <summary>Runs one compressed reduce of <paramref name="values"/> values, which returns its payload bytes, and
    /// counts the wire bytes the group's traffic grew by meanwhile.</summary>
    public void Measure(IProcessGroup group, int values, Func<long> reduce)
    {
        long wire = group.Traffic.WireBytes;
        _payload += reduce();
        _wire += group.Traffic.WireBytes - wire;
        _values += values;
        _exactWire += Traffic.AllReduceWire(4L * values, group.Size);
    }

    public void Collect(IDictionary<string, object> figures)
    {
        if (_values == 0) return;
        figures["compress_payload_bytes"] = _payload;
        figures["compress_fp32_bytes"] = 4 * _values;
        figures["compress_saved_bytes"] = 4 * _values - _payload;
        if (_payload > 0) figures["compress_ratio"] = Math.Round(4.0 * _values / _payload, 4);
        figures["compress_wire_bytes"] = _wire;
        figures["compress_fp32_wire_bytes"] = (long)Math.Round(_exactWire);
        if (_wire > 0) figures["compress_wire_ratio"] = _exactWire / _wire;
        _values = _payload = _wire = 0;
        _exactWire = 0;
    }
}
