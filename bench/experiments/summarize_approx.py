#!/usr/bin/env python3
"""Markdown tables from the run folders of bench/experiments/approx.sh: per model, every run's final test accuracy,
its difference from the exact baseline (mean of the runs named *-exact-*), training samples/s (last epoch), speed-up
over the exact samples/s, and approx_flops_ratio (multiply-adds executed / exact, conv+linear, forward+backward)."""
import json, os, sys

def load(run_dir):
    with open(os.path.join(run_dir, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    return cfg, lines

def main(root):
    runs = {}
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if os.path.isfile(os.path.join(d, "metrics.jsonl")):
            try:
                runs[name] = load(d)
            except (OSError, ValueError) as e:
                print(f"skipping {name}: {e}", file=sys.stderr)
    models = sorted({cfg.get("model", "?") for cfg, _ in runs.values()})
    for model in models:
        mine = {n: r for n, r in runs.items() if r[0].get("model") == model and r[1]}
        exact = [r for n, r in mine.items() if "-exact-" in n]
        if not exact:
            print(f"{model}: no exact baseline run; skipped\n")
            continue
        acc0 = sum(m[-1]["test_accuracy"] for _, m in exact) / len(exact)
        sps0 = sum(m[-1]["samples_per_second"] for _, m in exact) / len(exact)
        print(f"### {model}: exact {100 * acc0:.2f}% at {sps0:.0f} samples/s (mean of {len(exact)} baseline runs)\n")
        print("| run | sampler | mode | keep | layers | test acc % | Δ pp | samples/s | speed-up | flops ratio |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name, (cfg, m) in sorted(mine.items(), key=lambda kv: (kv[1][0].get("approx") or "", kv[1][0].get("approx_mode"), kv[1][0].get("keep"), kv[0])):
            last = m[-1]
            acc, sps = last["test_accuracy"], last["samples_per_second"]
            approx = cfg.get("approx")
            ratio = last.get("approx_flops_ratio")
            print(f"| {name} | {approx or 'exact'} | {cfg.get('approx_mode') if approx else ''} | {cfg.get('keep') if approx else ''} | "
                  f"{(cfg.get('approx_layers') or 'default') if approx else ''} | {100 * acc:.2f} | {100 * (acc - acc0):+.2f} | {sps:.0f} | "
                  f"{sps / sps0:.2f} | {'' if ratio is None else f'{ratio:.3f}'} |")
        print()

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs")
