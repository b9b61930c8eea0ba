namespace Frugal.Distributed.Compression;

/// <summary>
/// A compressor's bytes over an epoch: what it handed to collectives against what the exact fp32 all-reduce of the
/// same buckets would have, as the figures compress_payload_bytes, compress_saved_bytes and compress_ratio
/// (exact / payload; wire bytes scale the same way for all-reduces).
/// </summary>
internal sealed class PayloadTally
{
    long _payload, _exact;

    public void Add(long payloadFloats, long exactFloats)
    {
        _payload += payloadFloats * sizeof(float);
        _exact += exactFloats * sizeof(float);
    }

    public void Collect(IDictionary<string, object> figures)
    {
        figures["compress_payload_bytes"] = _payload;
        figures["compress_saved_bytes"] = _exact - _payload;
        figures["compress_ratio"] = _payload > 0 ? Math.Round((double)_exact / _payload, 4) : 1.0;
        _payload = _exact = 0;
    }
}
