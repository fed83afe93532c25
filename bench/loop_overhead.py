#!/usr/bin/env python3
"""The one step loop's overhead against an older binary's loop, side by side.

Runs `alisa bench decode` of two binaries (e.g. this build, and one built from commit 08587de,
the last before engine/step_loop) on the tiered throughput workload, interleaved round by round
so machine noise hits both alike, and prints the median throughput of each and their ratio.

Usage: python3 bench/loop_overhead.py --old /tmp/old/build/bin/alisa [--new build/bin/alisa]
       [--batches 4,16,64] [--policies alisa,vllm] [--rounds 3] [--json]
"""
import argparse
import json
import statistics
import subprocess

POLICIES = {
    "alisa": ["--policy", "alisa", "--host-kv-budget", "4GiB"],
    "flexgen": ["--policy", "flexgen", "--host-kv-budget", "4GiB"],
    "vllm": ["--policy", "vllm"],
}


def throughput(binary, batch, policy, args):
    cmd = [binary, "bench", "decode", "--model", args.model, "--context", "1024",
           "--device-kv-budget", args.device_budget, "--batch", str(batch),
           "--prompt-len", str(args.prompt_len), "--gen-len", str(args.gen_len),
           "--repetitions", "1", "--warmup", "0", "--json"] + POLICIES[policy]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["throughput_tokens_per_s"]["median"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", default="build/bin/alisa")
    ap.add_argument("--model", default="synthetic:stories15m")
    ap.add_argument("--device-budget", default="128MiB")
    ap.add_argument("--batches", default="4,16,64")
    ap.add_argument("--policies", default="alisa,vllm")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--gen-len", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    points = [(int(b), p) for b in args.batches.split(",") for p in args.policies.split(",")]
    samples = {(pt, which): [] for pt in points for which in ("old", "new")}
    for r in range(args.rounds):
        for pt in points:
            # Alternate which binary goes first, so neither always runs on a warmer machine.
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for which in order:
                binary = args.old if which == "old" else args.new
                samples[(pt, which)].append(throughput(binary, pt[0], pt[1], args))
    rows = []
    for pt in points:
        old = statistics.median(samples[(pt, "old")])
        new = statistics.median(samples[(pt, "new")])
        rows.append({"batch": pt[0], "policy": pt[1], "old_tokens_per_s": old,
                     "new_tokens_per_s": new, "new_over_old": new / old,
                     "old_samples": samples[(pt, "old")], "new_samples": samples[(pt, "new")]})
    if args.json:
        print(json.dumps({"rounds": args.rounds, "points": rows}))
        return
    print("| batch | policy | old loop tok/s | one loop tok/s | one / old |")
    print("|---:|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row['batch']} | {row['policy']} | {row['old_tokens_per_s']:.0f} | "
              f"{row['new_tokens_per_s']:.0f} | {row['new_over_old']:.3f} |")


if __name__ == "__main__":
    main()
