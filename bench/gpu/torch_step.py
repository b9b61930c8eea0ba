"""PyTorch counterpart of `frugal bench step --device cuda`: the same model (bench/reference/models.py), batch,
SGD recipe (lr 0.05, momentum 0.9, weight decay 5e-4) and random inputs, timed per training step on the GPU.
Usage: python3 torch_step.py MODEL BATCH STEPS [fp32|tf32]
fp32 (default) turns TF32 off for matmuls and cuDNN convolutions, the math Frugal uses by default;
tf32 allows it for both (compare with FRUGAL_CUDA_TF32=1). Prints one line: ms/step and samples/s."""
import os, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from models import build  # noqa: E402

kind, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
math = sys.argv[4] if len(sys.argv) > 4 else "fp32"
torch.backends.cuda.matmul.allow_tf32 = math == "tf32"
torch.backends.cudnn.allow_tf32 = math == "tf32"
torch.backends.cudnn.benchmark = True
dev = torch.device("cuda")
torch.manual_seed(1)
model = build(kind).to(dev)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
x = torch.randn(batch, 1, 28, 28, device=dev)
y = torch.randint(0, 10, (batch,), device=dev)


def step():
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss


for _ in range(5):
    step()
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(steps):
    step()
torch.cuda.synchronize()
dt = (time.perf_counter() - t0) / steps
print(f"pytorch {torch.__version__} {kind} on {torch.cuda.get_device_name()} ({math}), batch {batch}: "
      f"{dt * 1e3:.2f} ms/step = {batch / dt:.0f} samples/s")
