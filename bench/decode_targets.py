#!/usr/bin/env python3
"""Runs the engine-core decode benchmarks side by side and prints one JSON summary.

Targets (docs/benchmarks.md): batch-1 decode of synthetic:stories110m fp32 reaches >= 80% of the
measured read bandwidth; bf16 weights give >= 1.6x the fp32 tokens/s; batch 32 gives >= 8x the
batch-1 tokens/s. Configurations are interleaved round by round so machine noise hits all of
them alike; the summary reports medians over rounds and ratios of medians.

Usage: bench/decode_targets.py [--alisa build/bin/alisa] [--model synthetic:stories110m]
                               [--rounds 3] [--gen-len 64] [--prompt-len 128] [--threads 0]
Only the Python standard library is used.
"""
import argparse
import json
import statistics
import subprocess
import sys

CONFIGS = [
    ("fp32_b1", "fp32", 1),
    ("bf16_b1", "bf16", 1),
    ("fp16_b1", "fp16", 1),
    ("fp32_b32", "fp32", 32),
    ("bf16_b32", "bf16", 32),
]


def run_one(args, dtype, batch):
    cmd = [args.alisa, "bench", "decode", "--model", args.model, "--dtype", dtype,
           "--batch", str(batch), "--prompt-len", str(args.prompt_len),
           "--gen-len", str(args.gen_len), "--repetitions", "1", "--warmup", "1",
           "--threads", str(args.threads), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alisa", default="build/bin/alisa")
    p.add_argument("--model", default="synthetic:stories110m")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--gen-len", type=int, default=64)
    p.add_argument("--prompt-len", type=int, default=128)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()

    samples = {name: [] for name, _, _ in CONFIGS}
    last = {}
    for r in range(args.rounds):
        for name, dtype, batch in CONFIGS:
            j = run_one(args, dtype, batch)
            samples[name].append(j)
            last[name] = j
            print(f"round {r} {name}: {j['decode_tokens_per_s']['median']:.2f} tok/s", file=sys.stderr)

    def med(name, key):
        return statistics.median(s[key]["median"] if isinstance(s[key], dict) else s[key] for s in samples[name])

    summary = {"model": args.model, "rounds": args.rounds, "gen_len": args.gen_len,
               "prompt_len": args.prompt_len, "backend": last["fp32_b1"]["backend"], "configs": {}}
    for name, dtype, batch in CONFIGS:
        summary["configs"][name] = {
            "dtype": dtype, "batch": batch,
            "decode_tokens_per_s": med(name, "decode_tokens_per_s"),
            "prompt_tokens_per_s": med(name, "prompt_tokens_per_s"),
            "weight_bytes_per_step": last[name]["weight_bytes_per_step"],
            "achieved_total_bandwidth_gbs": med(name, "achieved_total_bandwidth_gbs"),
            "measured_read_bandwidth_gbs": med(name, "measured_read_bandwidth_gbs"),
            "bandwidth_fraction": med(name, "bandwidth_fraction"),
        }
    c = summary["configs"]
    summary["targets"] = {
        "fp32_b1_bandwidth_fraction": c["fp32_b1"]["bandwidth_fraction"],
        "bf16_over_fp32_b1": c["bf16_b1"]["decode_tokens_per_s"] / c["fp32_b1"]["decode_tokens_per_s"],
        "fp16_over_fp32_b1": c["fp16_b1"]["decode_tokens_per_s"] / c["fp32_b1"]["decode_tokens_per_s"],
        "b32_over_b1_fp32": c["fp32_b32"]["decode_tokens_per_s"] / c["fp32_b1"]["decode_tokens_per_s"],
        "b32_over_b1_bf16": c["bf16_b32"]["decode_tokens_per_s"] / c["bf16_b1"]["decode_tokens_per_s"],
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
