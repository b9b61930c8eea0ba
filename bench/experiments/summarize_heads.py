#!/usr/bin/env python3
"""Markdown table of the output-head runs (bench/experiments/heads.sh): TARGET then NAME=PATH args, the first being
the baseline (softmax with SGD). Per run: its learning rate, test accuracy per epoch, the first epoch at or above
TARGET, final accuracy and its change vs the baseline, and the mean over epochs of the first-layer gradient norm and
of its ratio to the last layer's."""
import json
import sys


def load(path):
    with open(f"{path}/metrics.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(target, args):
    runs = [a.split("=", 1) for a in args]
    base = None
    print(f"| run | lr | test accuracy per epoch (%) | first epoch ≥ {100 * target:.0f}% | final | Δ vs baseline (pp) | first-layer grad norm | first/last |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for name, path in runs:
        m = load(path)
        accs = [e["test_accuracy"] * 100 for e in m]
        if base is None:
            base = accs[-1]
        reach = next((e["epoch"] for e in m if e["test_accuracy"] >= target), None)
        norm = sum(e["first_layer_grad_norm"] for e in m) / len(m)
        ratio = sum(e["grad_norm_ratio"] for e in m) / len(m)
        print(f"| {name} | {m[0]['learning_rate']:g} | {' '.join(f'{a:.1f}' for a in accs)} | {reach if reach else '–'} | "
              f"{accs[-1]:.2f} | {accs[-1] - base:+.2f} | {norm:.3g} | {ratio:.3g} |")


if __name__ == "__main__":
    main(float(sys.argv[1]), sys.argv[2:])
