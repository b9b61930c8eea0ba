"""Writes the first N training examples and the whole test set of an MNIST-format folder as gzip IDX files,
small enough to travel to the GPU machine with the published binary (64 MiB in all).
Usage: python3 subset.py SRC_DIR DST_DIR N"""
import gzip, os, struct, sys

src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(dst, exist_ok=True)
for name, keep in [("train-images-idx3-ubyte.gz", n), ("train-labels-idx1-ubyte.gz", n),
                   ("t10k-images-idx3-ubyte.gz", None), ("t10k-labels-idx1-ubyte.gz", None)]:
    with gzip.open(os.path.join(src, name)) as f:
        data = f.read()
    nd = data[3]
    dims = list(struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd]))
    per = 1
    for d in dims[1:]:
        per *= d
    if keep is not None:
        dims[0] = min(keep, dims[0])
    head = data[:4] + struct.pack(">" + "I" * nd, *dims)
    body = data[4 + 4 * nd: 4 + 4 * nd + dims[0] * per]
    with gzip.open(os.path.join(dst, name), "wb", compresslevel=9) as f:
        f.write(head + body)
