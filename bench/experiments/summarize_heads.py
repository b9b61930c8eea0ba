#!/usr/bin/env python3
"""Markdown table of the output-head runs (bench/experiments/heads.sh): TARGET then NAME=PATH[,PATH…] args, the first
being the baseline (softmax with SGD); several paths are seeds of one run, averaged. Per run: its learning rate(s),
mean test accuracy per epoch, the first epoch at or above TARGET (per seed), mean final accuracy (± half the range
over seeds) and its change vs the baseline, and the mean over epochs and seeds of the first-layer gradient norm and of
its ratio to the last layer's."""
import json
import sys


def load(path):
    with open(f"{path}/metrics.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def mean(xs):
    return sum(xs) / len(xs)


def main(target, args):
    runs = [(name, paths.split(",")) for name, paths in (a.split("=", 1) for a in args)]
    base = None
    print(f"| run | lr | mean test accuracy per epoch (%) | first epoch ≥ {100 * target:.0f}% | final (%) | Δ vs baseline (pp) | first-layer grad norm | first/last |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for name, paths in runs:
        seeds = [load(p) for p in paths]
        epochs = min(len(m) for m in seeds)
        accs = [mean([m[e]["test_accuracy"] * 100 for m in seeds]) for e in range(epochs)]
        finals = [m[epochs - 1]["test_accuracy"] * 100 for m in seeds]
        if base is None:
            base = mean(finals)
        reach = [next((str(e["epoch"]) for e in m if e["test_accuracy"] >= target), "–") for m in seeds]
        lrs = "/".join(f"{m[0]['learning_rate']:g}" for m in seeds)
        norm = mean([e["first_layer_grad_norm"] for m in seeds for e in m])
        ratio = mean([e["grad_norm_ratio"] for m in seeds for e in m])
        spread = (max(finals) - min(finals)) / 2
        print(f"| {name} | {lrs} | {' '.join(f'{a:.1f}' for a in accs)} | {'/'.join(reach)} | "
              f"{mean(finals):.2f} ± {spread:.2f} | {mean(finals) - base:+.2f} | {norm:.3g} | {ratio:.3g} |")


if __name__ == "__main__":
    main(float(sys.argv[1]), sys.argv[2:])
