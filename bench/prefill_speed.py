#!/usr/bin/env python3
"""Prefill speed of this build against an older binary, side by side (issue 17's acceptance).

Runs `alisa bench decode` (a single sequence: its prompt through the one step loop, chunked by
the default --max-prefill-tokens, then one decode step) of two binaries on prompts of several
lengths, interleaved round by round so machine noise hits both alike, and prints each binary's
median prompt tokens/s and their ratio. The old binary is e.g. one built from commit 0489996, the
last before the tiled prefill attention kernel.

Usage: python3 bench/prefill_speed.py --old /tmp/base/build/bin/alisa [--new build/bin/alisa]
       [--prompts 4096,16384] [--rounds 3] [--json]
"""
import argparse
import json
import statistics
import subprocess


def prompt_tokens_per_s(binary, prompt, args):
    cmd = [binary, "bench", "decode", "--model", args.model, "--context", str(prompt + 64),
           "--prompt-len", str(prompt), "--gen-len", "1", "--repetitions", "1", "--warmup", "0",
           "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["prompt_tokens_per_s"]["median"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", default="build/bin/alisa")
    ap.add_argument("--model", default="synthetic:stories15m")
    ap.add_argument("--prompts", default="4096,16384")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    prompts = [int(p) for p in args.prompts.split(",")]
    samples = {(p, w): [] for p in prompts for w in ("old", "new")}
    for r in range(args.rounds):
        for p in prompts:
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for which in order:
                binary = args.old if which == "old" else args.new
                samples[(p, which)].append(prompt_tokens_per_s(binary, p, args))
    rows = []
    for p in prompts:
        old = statistics.median(samples[(p, "old")])
        new = statistics.median(samples[(p, "new")])
        rows.append({"prompt_len": p, "old_tokens_per_s": old, "new_tokens_per_s": new,
                     "new_over_old": new / old, "old_samples": samples[(p, "old")],
                     "new_samples": samples[(p, "new")]})
    if args.json:
        print(json.dumps({"model": args.model, "rounds": args.rounds, "rows": rows}))
        return
    for row in rows:
        print(f"prompt {row['prompt_len']:6d}: old {row['old_tokens_per_s']:8.1f} tok/s, "
              f"new {row['new_tokens_per_s']:8.1f} tok/s = {row['new_over_old']:.2f}x")


if __name__ == "__main__":
    main()
