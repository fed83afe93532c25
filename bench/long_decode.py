#!/usr/bin/env python3
"""One long context beyond device + host, this build against an older binary, side by side.

Runs `alisa bench decode --policy alisa` (SWA at 80%) on a single synthetic:stories15m sequence
whose KV does not fit the device and host budgets, so most selected rows come from the NVMe tier
(RocksDB) every decode step. Both binaries run the same command, interleaved round by round;
prints the medians of prompt and decode tokens/s, the decode step's time in KV transfer, and the
ratios. The old binary is e.g. one built from commit 0489996.

Usage: python3 bench/long_decode.py --old /tmp/base/build/bin/alisa [--new build/bin/alisa]
       [--prompt 16384] [--gen 32] [--device 32MiB] [--host 64MiB] [--rounds 1] [--json]
"""
import argparse
import json
import statistics
import subprocess
import tempfile


def run(binary, args):
    with tempfile.TemporaryDirectory(prefix="alisa-nvme-") as nvme:
        cmd = [binary, "bench", "decode", "--model", args.model, "--context",
               str(args.prompt + args.gen + 64), "--policy", "alisa", "--device-kv-budget",
               args.device, "--host-kv-budget", args.host, "--nvme-dir", nvme,
               "--nvme-kv-budget", "4GiB", "--prompt-len", str(args.prompt), "--gen-len",
               str(args.gen), "--repetitions", "1", "--warmup", "0", "--json"]
        j = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return {"prompt_tokens_per_s": j["prompt_tokens_per_s"]["median"],
            "decode_tokens_per_s": j["decode_tokens_per_s"]["median"],
            "kv_transfer_ms_per_step": j["kv_transfer_ms_per_step"]["median"],
            "attention_ms_per_step": j["attention_ms_per_step"]["median"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", default="build/bin/alisa")
    ap.add_argument("--model", default="synthetic:stories15m")
    ap.add_argument("--prompt", type=int, default=16384)
    ap.add_argument("--gen", type=int, default=32)
    ap.add_argument("--device", default="32MiB")
    ap.add_argument("--host", default="64MiB")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    samples = {"old": [], "new": []}
    for r in range(args.rounds):
        for which in (("old", "new") if r % 2 == 0 else ("new", "old")):
            samples[which].append(run(args.old if which == "old" else args.new, args))
    med = {w: {k: statistics.median(s[k] for s in samples[w]) for k in samples[w][0]}
           for w in samples}
    out = {"model": args.model, "prompt_len": args.prompt, "gen_len": args.gen,
           "device_budget": args.device, "host_budget": args.host, "rounds": args.rounds,
           "old": med["old"], "new": med["new"],
           "decode_new_over_old": med["new"]["decode_tokens_per_s"] / med["old"]["decode_tokens_per_s"],
           "prefill_new_over_old": med["new"]["prompt_tokens_per_s"] / med["old"]["prompt_tokens_per_s"],
           "samples": samples}
    if args.json:
        print(json.dumps(out))
        return
    for w in ("old", "new"):
        m = med[w]
        print(f"{w}: prefill {m['prompt_tokens_per_s']:.0f} tok/s, decode {m['decode_tokens_per_s']:.2f} "
              f"tok/s, KV transfer {m['kv_transfer_ms_per_step']:.1f} ms/step")
    print(f"decode new/old {out['decode_new_over_old']:.2f}x, prefill {out['prefill_new_over_old']:.2f}x")


if __name__ == "__main__":
    main()
