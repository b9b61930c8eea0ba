#!/usr/bin/env python3
"""Markdown table of frugal runs: one row per run folder (NAME=PATH args, first is the baseline).
Reads each run's metrics.jsonl: final test accuracy, its change vs the baseline, achieved gradient sparsity
(grad_sparsity of the last epoch), and mean training throughput."""
import json
import sys


def load(path):
    with open(f"{path}/metrics.jsonl") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(args):
    runs = [a.split("=", 1) for a in args]
    base = None
    print("| run | test accuracy | Δ vs baseline (pp) | achieved grad sparsity | samples/s |")
    print("|---|---|---|---|---|")
    for name, path in runs:
        m = load(path)
        acc = m[-1]["test_accuracy"] * 100
        if base is None:
            base = acc
        sps = sum(e["samples_per_second"] for e in m) / len(m)
        sparsity = m[-1].get("grad_sparsity")
        sp = f"{sparsity * 100:.1f}%" if sparsity is not None else "–"
        print(f"| {name} | {acc:.2f}% | {acc - base:+.2f} | {sp} | {sps:.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
