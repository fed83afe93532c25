#!/usr/bin/env python3
"""Tiered KV throughput: --policy alisa vs flexgen vs vllm on the paper's workload shape.

Prompt 128, generate 512, batch 4..64 (ALISA §5.2) on a synthetic model, with a device KV budget
small enough that large batches must offload (alisa/flexgen: to a host RAM tier) or preempt
(vllm). Every (batch, policy) point is a separate `alisa bench decode --json` run, interleaved
round by round so machine noise hits the three policies alike; medians over rounds. Throughput is
generated tokens / wall time of the whole job (prefill included, the paper's metric).

Also (--long): one 32K-token context under tight device + host budgets spilling to NVMe.

Writes bench/results-tiered-throughput.json and docs/tiered-throughput.svg, and prints the
markdown tables docs/benchmarks.md quotes.

Usage: python3 bench/tiered_throughput.py [--alisa build/bin/alisa] [--rounds 1]
       [--batches 4,8,16,32,64] [--gen-len 512] [--long] [--render-only]
"""
import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

POLICIES = {
    "alisa": ["--policy", "alisa", "--host-kv-budget", "4GiB"],  # SWA S=0.8 (implied), 3 phases
    "flexgen": ["--policy", "flexgen", "--host-kv-budget", "4GiB"],
    "vllm": ["--policy", "vllm"],
}


def bench(args, batch, extra):
    cmd = [args.alisa, "bench", "decode", "--model", args.model, "--context", "1024",
           "--device-kv-budget", args.device_budget, "--batch", str(batch),
           "--prompt-len", str(args.prompt_len), "--gen-len", str(args.gen_len),
           "--repetitions", "1", "--warmup", "0", "--json"] + extra
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def point(samples):
    med = lambda f: statistics.median(f(s) for s in samples)
    last = samples[-1]["kv_tiers"]
    return {
        "throughput_tokens_per_s": med(lambda s: s["throughput_tokens_per_s"]["median"]),
        "attention_ms_per_step": med(lambda s: s["attention_ms_per_step"]["median"]),
        "kv_transfer_ms_per_step": med(lambda s: s["kv_transfer_ms_per_step"]["median"]),
        "num_preemptions": samples[-1]["num_preemptions"],
        "tokens_reprefilled": samples[-1]["tokens_reprefilled"],
        "phases": sorted({p["phase"] for p in last["phases"]}),
        "host_tokens_loaded": last["tiers"]["host"]["tokens_loaded"],
        "device_peak_bytes": last["tiers"]["device"]["peak_bytes_resident"],
        "host_peak_bytes": last["tiers"]["host"]["peak_bytes_resident"],
        "time_ms": last["time_ms"],
        "plan": last["peak_plan"],
        "rates": last["rates"],
        "samples": [s["throughput_tokens_per_s"]["median"] for s in samples],
    }


def run_sweep(args):
    batches = [int(b) for b in args.batches.split(",")]
    raw = {(b, p): [] for b in batches for p in POLICIES}
    for _ in range(args.rounds):
        for b in batches:
            for p, extra in POLICIES.items():
                raw[(b, p)].append(bench(args, b, extra))
    return [{"batch": b, **{p: point(raw[(b, p)]) for p in POLICIES}} for b in batches]


def run_long(args):
    with tempfile.TemporaryDirectory(prefix="alisa-nvme-") as nvme:
        cmd = [args.alisa, "bench", "decode", "--model", args.long_model, "--context",
               str(args.long_prompt + args.long_gen + 64), "--policy", "alisa",
               "--device-kv-budget", "64MiB", "--host-kv-budget", "128MiB", "--nvme-dir", nvme,
               "--nvme-kv-budget", "4GiB", "--batch", "1", "--prompt-len", str(args.long_prompt),
               "--gen-len", str(args.long_gen), "--repetitions", "1", "--warmup", "0", "--json"]
        j = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    t = j["kv_tiers"]
    return {"model": args.long_model, "prompt_len": args.long_prompt, "gen_len": args.long_gen,
            "prompt_tokens_per_s": j["prompt_tokens_per_s"]["median"],
            "decode_tokens_per_s": j["decode_tokens_per_s"]["median"],
            "tiers": t["tiers"], "time_ms": t["time_ms"], "phases": t["phases"],
            "budgets": t["budgets"], "rates": t["rates"], "plan": t["peak_plan"]}


def svg_plot(sweep, path):
    """A dependency-free line chart: throughput vs batch size per policy."""
    w, h, left, bottom = 560, 320, 60, 40
    colors = {"alisa": "#d62728", "flexgen": "#1f77b4", "vllm": "#2ca02c"}
    batches = [r["batch"] for r in sweep]
    top = max(r[p]["throughput_tokens_per_s"] for r in sweep for p in POLICIES) * 1.1
    x = lambda i: left + i * (w - left - 20) / max(1, len(batches) - 1)
    y = lambda v: h - bottom - v / top * (h - bottom - 20)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{left}" y1="{h-bottom}" x2="{w-20}" y2="{h-bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="20" x2="{left}" y2="{h-bottom}" stroke="black"/>',
           f'<text x="{w/2}" y="{h-8}" text-anchor="middle">batch size (prompt 128, generate 512)</text>',
           f'<text x="14" y="{h/2}" transform="rotate(-90 14 {h/2})" text-anchor="middle">generated tokens/s</text>']
    for i, b in enumerate(batches):
        out.append(f'<text x="{x(i)}" y="{h-bottom+16}" text-anchor="middle">{b}</text>')
    for k in range(5):
        v = top * k / 5
        out.append(f'<text x="{left-6}" y="{y(v)+4}" text-anchor="end">{v:.0f}</text>')
    for n, (p, c) in enumerate(colors.items()):
        pts = " ".join(f"{x(i)},{y(r[p]['throughput_tokens_per_s'])}" for i, r in enumerate(sweep))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{left+10}" y="{24+14*n}" fill="{c}">{p}</text>')
    out.append("</svg>")
    Path(path).write_text("\n".join(out) + "\n")


def print_tables(results):
    print("| batch | alisa tok/s | flexgen tok/s | vllm tok/s | alisa/flexgen | alisa/vllm | alisa phases | vllm preemptions |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results["sweep"]:
        a, f, v = (r[p]["throughput_tokens_per_s"] for p in POLICIES)
        print(f"| {r['batch']} | {a:.0f} | {f:.0f} | {v:.0f} | {a/f:.2f}× | {a/v:.2f}× | "
              f"{'/'.join(r['alisa']['phases'])} | {r['vllm']['num_preemptions']} |")
    if results.get("long"):
        L = results["long"]
        print(f"\nlong context {L['prompt_len']} + {L['gen_len']} ({L['model']}): prefill "
              f"{L['prompt_tokens_per_s']:.0f} tok/s, decode {L['decode_tokens_per_s']:.2f} tok/s")
        for t, s in L["tiers"].items():
            print(f"| {t} | {s['peak_bytes_resident']/2**20:.1f} MiB | {s['tokens_loaded']} | "
                  f"{s['bytes_read']/2**20:.1f} MiB | {s['bytes_written']/2**20:.1f} MiB | {s['hits']} | {s['misses']} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alisa", default="build/bin/alisa")
    ap.add_argument("--model", default="synthetic:stories15m")
    ap.add_argument("--device-budget", default="128MiB")
    ap.add_argument("--batches", default="4,8,16,32,64")
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--gen-len", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--long", action="store_true", help="also run the single long context")
    ap.add_argument("--long-model", default="synthetic:stories15m")
    ap.add_argument("--long-prompt", type=int, default=32768)
    ap.add_argument("--long-gen", type=int, default=64)
    ap.add_argument("--render-only", action="store_true")
    args = ap.parse_args()
    out = Path(__file__).parent / "results-tiered-throughput.json"
    if args.render_only:
        results = json.loads(out.read_text())
    else:
        results = {"model": args.model, "device_budget": args.device_budget,
                   "prompt_len": args.prompt_len, "gen_len": args.gen_len, "rounds": args.rounds,
                   "sweep": run_sweep(args)}
        if args.long:
            results["long"] = run_long(args)
        elif out.exists() and "long" in json.loads(out.read_text()):
            results["long"] = json.loads(out.read_text())["long"]  # keep the last long run
        out.write_text(json.dumps(results, indent=1) + "\n")
    svg_plot(results["sweep"], Path(__file__).parent.parent / "docs" / "tiered-throughput.svg")
    print_tables(results)


if __name__ == "__main__":
    main()
