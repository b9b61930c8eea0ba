"""Computes loss and parameter gradients of a model in PyTorch (train mode) for weights and a batch saved by
Frugal, and prints the largest relative difference to Frugal's gradients.
Usage: /usr/bin/python3 grad_parity.py MODEL SIZE weights.safetensors batch.safetensors grads.safetensors"""
import os, sys
import torch, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval_checkpoint import load_safetensors
from models import build

kind, size = sys.argv[1], int(sys.argv[2])
model = build(kind, size)
model.load_state_dict(load_safetensors(sys.argv[3]))
batch, frugal = load_safetensors(sys.argv[4]), load_safetensors(sys.argv[5])
model.train()
loss = F.cross_entropy(model(batch["x"]), batch["y"].long())
loss.backward()
worst = abs(loss.item() - frugal["loss"].item()) / abs(loss.item())
for name, p in model.named_parameters():
    g, f = p.grad, frugal[name]
    worst = max(worst, ((g - f).abs().max() / g.abs().max().clamp_min(1e-12)).item())
print(f"max_relative_difference {worst:.3e}")
