#!/usr/bin/env python3
"""Actor-runtime overhead: the same job embedded (`alisa run`, every actor in one process) and
through a one-process-per-role cluster (`alisa cluster up` + `alisa submit`, every message over
loopback TCP), plus the remote memory tier's fetch bandwidth for 1 MiB transfers.

For each model, twice: with the KV on the device, and offloaded (forced phase II: every complete
block in the embedded worker's host RAM tier, or on the cluster's memory node). One
`cluster up --workers 1 --memory-nodes 1` stays up for all rounds; each round runs the embedded
job and the cluster job back to back (interleaved, so machine noise hits
both alike). Decode tokens/s is num_decode_steps / decode_ms as both report it; medians over
rounds, and the ratio cluster/embedded of the medians. Then `alisa bench remote-tier --json`
(1 MiB, token-granular) once per round.

Writes bench/results-cluster-overhead.json and prints the markdown table docs/benchmarks.md
quotes.

Usage: python3 bench/cluster_overhead.py [--alisa build/bin/alisa] [--rounds 5]
       [--models synthetic:stories15m,PATH] [--max-tokens 128] [--base-port 7950]
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import time
from pathlib import Path

PROMPT = "Once upon a time"


def model_flags(model):
    flags = ["--model", model]
    tok = Path(model).with_name("tok512.bin")
    if model.endswith(".bin") and tok.exists():
        flags += ["--tokenizer", str(tok)]
    return flags


# Both paths run the tiered store with room on the device for the whole job (phase I): the same
# work, and the cluster's memory node is a member without traffic.
TIER_FLAGS = ["--device-kv-budget", "64MiB", "--host-kv-budget", "64MiB"]


# The offloaded variant: every complete block off the device (forced phase II), to the
# worker's own host RAM tier when embedded, to the memory node in the cluster.
OFFLOAD_FLAGS = {"synthetic:stories15m": "4MiB", "stories260K.bin": "256KiB"}


def offload_flags(model):
    budget = next(v for k, v in OFFLOAD_FLAGS.items() if model.endswith(k))
    return ["--device-kv-budget", budget, "--host-kv-budget", "64MiB", "--force-phase", "2"]


def job_flags(args):
    return ["--prompt", PROMPT, "--max-tokens", str(args.max_tokens), "--ignore-eos", "--json"]


def run_json(cmd):
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def start_cluster(args, model, port, tier_flags):
    cmd = [args.alisa, "cluster", "up", "--workers", "1", "--memory-nodes", "1",
           "--base-port", str(port)] + tier_flags + model_flags(model)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("ready:"):
            return proc
    raise RuntimeError("cluster did not come up: " + " ".join(cmd))


def stop_cluster(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def measure_model(args, model, port, tier_flags):
    cluster = start_cluster(args, model, port, tier_flags)
    embedded, remote = [], []
    try:
        for _ in range(args.rounds):
            embedded.append(run_json([args.alisa, "run"] + model_flags(model) + tier_flags
                                     + job_flags(args)))
            remote.append(run_json([args.alisa, "submit", "--coordinator", f"127.0.0.1:{port}"]
                                   + job_flags(args)))
    finally:
        stop_cluster(cluster)
    same_text = all(e["text"] == r["text"] for e, r in zip(embedded, remote))
    med = lambda runs: statistics.median(r["decode_tokens_per_s"] for r in runs)
    return {"model": model, "max_tokens": args.max_tokens, "same_text": same_text,
            "kv": "offloaded" if "--force-phase" in tier_flags else "on device",
            "memory_node_peak_bytes": remote[-1].get("memory_nodes_peak_bytes", 0),
            "embedded_decode_tokens_per_s": med(embedded),
            "cluster_decode_tokens_per_s": med(remote),
            "cluster_over_embedded": med(remote) / med(embedded),
            "embedded_samples": [r["decode_tokens_per_s"] for r in embedded],
            "cluster_samples": [r["decode_tokens_per_s"] for r in remote]}


def measure_remote_tier(args, whole_value):
    extra = ["--whole-value"] if whole_value else []
    runs = [run_json([args.alisa, "bench", "remote-tier", "--payload", "1MiB", "--repetitions",
                      "50", "--json"] + extra) for _ in range(args.rounds)]
    return {"payload_bytes": runs[0]["payload_bytes"], "token_granular": not whole_value,
            "median_gib_per_s": statistics.median(r["median_gib_per_s"] for r in runs),
            "best_gib_per_s": max(r["best_gib_per_s"] for r in runs),
            "median_ms": statistics.median(r["median_ms"] for r in runs),
            "samples": [r["median_gib_per_s"] for r in runs]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alisa", default="build/bin/alisa")
    ap.add_argument("--models", default="synthetic:stories15m,../shared/models/stories260K/stories260K.bin")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--base-port", type=int, default=7950)
    args = ap.parse_args()
    results = {"rounds": args.rounds, "cpus": os.cpu_count(), "models": []}
    for i, model in enumerate(args.models.split(",")):
        results["models"].append(measure_model(args, model, args.base_port + 20 * i, TIER_FLAGS))
        results["models"].append(measure_model(args, model, args.base_port + 20 * i + 10,
                                               offload_flags(model)))
    results["remote_tier"] = [measure_remote_tier(args, whole) for whole in (False, True)]
    Path("bench/results-cluster-overhead.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| model | KV | embedded decode tok/s | cluster decode tok/s | cluster / embedded | same text |")
    print("|---|---|---|---|---|---|")
    for m in results["models"]:
        print(f"| {m['model']} | {m['kv']} | {m['embedded_decode_tokens_per_s']:.1f} | "
              f"{m['cluster_decode_tokens_per_s']:.1f} | {m['cluster_over_embedded']:.2f}× | "
              f"{'yes' if m['same_text'] else 'NO'} |")
    print("\n| remote-tier fetch (1 MiB, loopback) | median GiB/s | median ms | best GiB/s |")
    print("|---|---|---|---|")
    for t in results["remote_tier"]:
        kind = "every row named (token-granular path)" if t["token_granular"] else "whole value"
        print(f"| {kind} | {t['median_gib_per_s']:.2f} | {t['median_ms']:.2f} | {t['best_gib_per_s']:.2f} |")


if __name__ == "__main__":
    main()
