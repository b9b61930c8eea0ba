"""Loads a Frugal model.safetensors into the PyTorch definition of the same model with
load_state_dict (strict) and prints the Fashion-MNIST test accuracy.

Usage: /usr/bin/python3 eval_checkpoint.py MODEL model.safetensors [DATA_DIR] [TEST_LIMIT] [SIZE]
SIZE: mlp hidden width (one hidden layer), or cnn/resnet first-stage width (resnet: depth 1); omit for defaults.
The safetensors file is parsed here with json + struct (the format is an 8-byte header length, a JSON
header, then raw little-endian data), since the safetensors wheel is not a Debian package."""
import gzip, json, os, struct, sys
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import build

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    base, out = 8 + n, {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + b:base + e]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"])
    return out


def idx(path):
    with gzip.open(path) if open(path, "rb").read(2) == b"\x1f\x8b" else open(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def main():
    kind, path = sys.argv[1], sys.argv[2]
    d = sys.argv[3] if len(sys.argv) > 3 else "/usr/share/datasets/fashion-mnist"
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    model = build(kind, int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    model.load_state_dict(load_safetensors(path))
    model.eval()
    name = lambda s: os.path.join(d, s + ".gz") if os.path.exists(os.path.join(d, s + ".gz")) else os.path.join(d, s)
    x = torch.tensor(idx(name("t10k-images-idx3-ubyte")), dtype=torch.float32).div_(255).sub_(0.2860).div_(0.3530).unsqueeze(1)
    y = torch.tensor(idx(name("t10k-labels-idx1-ubyte")), dtype=torch.long)
    if limit:
        x, y = x[:limit], y[:limit]
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    print(f"accuracy {correct / x.shape[0]:.6f}")


if __name__ == "__main__":
    main()
