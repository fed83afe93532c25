#!/usr/bin/env python3
"""Sparse attention at long context: dense vs SWA decode, measured side by side.

Runs `alisa bench decode --json` for each configuration, interleaved round by round so that
machine noise hits every configuration alike, and reports medians and ratios against dense:
decode tokens/s, attention ms per step, selection (SWA bookkeeping) ms per step, KV bytes read per
step, and KV tokens attended per layer. Writes bench/results-sparse-decode.json and prints the
markdown table that docs/benchmarks.md quotes.

Usage: python3 bench/sparse_decode.py [--alisa build/bin/alisa] [--rounds 2]
       [--model synthetic:smollm2-135m] [--prompt-len 8192] [--gen-len 32]
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

CONFIGS = [
    ("dense fp32", ["--attention", "dense", "--kv-dtype", "fp32"]),
    ("swa S=0.8 fp32", ["--attention", "swa", "--kv-sparsity", "0.8", "--kv-dtype", "fp32"]),
    ("swa S=0.8 int8", ["--attention", "swa", "--kv-sparsity", "0.8", "--kv-dtype", "int8"]),
]


def run_one(args, extra):
    cmd = [args.alisa, "bench", "decode", "--model", args.model, "--dtype", args.dtype,
           "--context", str(args.prompt_len + args.gen_len + 16),
           "--prompt-len", str(args.prompt_len), "--gen-len", str(args.gen_len),
           "--repetitions", "1", "--warmup", "0", "--json"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def summarize(samples):
    first = samples[0]
    med = lambda f: statistics.median(f(s) for s in samples)
    return {
        "decode_tokens_per_s": med(lambda s: s["decode_tokens_per_s"]["median"]),
        "prompt_tokens_per_s": med(lambda s: s["prompt_tokens_per_s"]["median"]),
        "attention_ms_per_step": med(lambda s: s["attention_ms_per_step"]["median"]),
        "selection_ms_per_step": med(lambda s: s["selection_ms_per_step"]["median"]),
        "kv_bytes_read_per_step": first["kv_bytes_read_per_step"],
        "kv_tokens_attended_per_step": first["kv_tokens_attended_per_step"],
        "weight_bytes_per_step": first["weight_bytes_per_step"],
        "measured_read_bandwidth_gbs": med(lambda s: s["measured_read_bandwidth_gbs"]),
        "rounds": len(samples),
    }


def table(results):
    dense = results["dense fp32"]
    rows = ["| configuration | decode tok/s | attention ms/step | × dense | selection ms/step | "
            "KV MB read/step | × dense | KV tokens/layer |",
            "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        rows.append("| {} | {:.2f} | {:.2f} | {:.2f} | {:.3f} | {:.1f} | {:.3f} | {:.0f} |".format(
            name, r["decode_tokens_per_s"], r["attention_ms_per_step"],
            r["attention_ms_per_step"] / dense["attention_ms_per_step"],
            r["selection_ms_per_step"], r["kv_bytes_read_per_step"] / 1e6,
            r["kv_bytes_read_per_step"] / dense["kv_bytes_read_per_step"],
            r["kv_tokens_attended_per_step"]))
    return "\n".join(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alisa", default="build/bin/alisa")
    p.add_argument("--model", default="synthetic:smollm2-135m")
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--prompt-len", type=int, default=8192)
    p.add_argument("--gen-len", type=int, default=32)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default=str(Path(__file__).parent / "results-sparse-decode.json"))
    args = p.parse_args()
    samples = {name: [] for name, _ in CONFIGS}
    for rnd in range(args.rounds):
        for name, extra in CONFIGS:
            print(f"round {rnd + 1}/{args.rounds}: {name}", file=sys.stderr, flush=True)
            samples[name].append(run_one(args, extra))
    results = {name: summarize(s) for name, s in samples.items()}
    report = {"model": args.model, "dtype": args.dtype, "prompt_len": args.prompt_len,
              "gen_len": args.gen_len, "backend": samples["dense fp32"][0]["backend"],
              "results": results, "samples": samples}
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
