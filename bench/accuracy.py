#!/usr/bin/env python3
"""Perplexity of stories260K under every attention policy, KV sparsity and KV dtype.

Runs `alisa eval ppl --json` (llama-perplexity conventions, actors/perplexity.hpp) over
bench/data/stories260k-sampled.txt for ctx in {256, 512} x policy in {dense, swa, local, strided,
streaming, h2o} x sparsity in {0, 0.5, 0.7, 0.8, 0.9} x KV dtype in {fp32, int8}. Dense does not
depend on the sparsity and runs once per (ctx, dtype); the other policies also run at S = 0, where
their budget covers every token, as a check that they then equal dense. Writes every run to
bench/results-accuracy.json and renders docs/accuracy.md: ppl +/- stderr tables, the swa/dense
ratio, and the checks
  1. swa at S = 0.8 is within 5% of dense (same ctx, same KV dtype);
  2. swa's ppl is <= every baseline's at every S >= 0.5 (violations listed);
  3. at S = 0 every policy equals dense.

Usage: bench/accuracy.py [--alisa build/bin/alisa] [--threads 0] [--models ../shared/models]
                         [--text bench/data/stories260k-sampled.txt] [--render-only]
--render-only re-renders docs/accuracy.md from an existing bench/results-accuracy.json.
Exit status: 0 when every check holds, 1 when one fails (the report is written either way),
2 when a run fails. Only the Python standard library is used.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

POLICIES = ["dense", "swa", "local", "strided", "streaming", "h2o"]
BASELINES = ["local", "strided", "streaming", "h2o"]
SPARSITIES = [0.0, 0.5, 0.7, 0.8, 0.9]
KV_DTYPES = ["fp32", "int8"]
CONTEXTS = [256, 512]
SWA_TOLERANCE = 0.05   # check 1: swa at S = 0.8 may cost at most this much perplexity
SWA_CHECK_SPARSITY = 0.8
ABLATION_WINDOWS = [0, 1, 2, 4, 8, 16, 32, 64]  # --swa-window values of the ablation
NOTES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "accuracy-notes.md")
ZERO_TOLERANCE = 1e-6  # check 3: relative difference that still counts as "equal to dense"


def key(ctx, kv, policy, sparsity):
    return f"ctx{ctx}/{kv}/{policy}/{sparsity:g}"


def run_eval(args, ctx, kv, policy, sparsity, extra=()):
    cmd = [args.alisa, "eval", "ppl",
           "--model", os.path.join(args.models, "stories260K/stories260K.bin"),
           "--tokenizer", os.path.join(args.models, "stories260K/tok512.bin"),
           "--text", args.text, "--ctx", str(ctx), "--kv-dtype", kv,
           "--attention", policy, "--kv-sparsity", str(sparsity),
           "--threads", str(args.threads), "--json", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"accuracy.py: {' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}",
              file=sys.stderr)
        sys.exit(2)
    return json.loads(proc.stdout)


def run_all(args):
    runs = {}
    for ctx in CONTEXTS:
        for kv in KV_DTYPES:
            for policy in POLICIES:
                for s in ([0.0] if policy == "dense" else SPARSITIES):
                    r = run_eval(args, ctx, kv, policy, s)
                    runs[key(ctx, kv, policy, s)] = r
                    print(f"{key(ctx, kv, policy, s)}: ppl {r['ppl']:.4f} +/- {r['stderr']:.4f} "
                          f"({r['seconds']:.1f} s)", file=sys.stderr)
    return runs


def run_window_ablation(args):
    """SWA at S = 0.8, fp32 KV, over the scoring window W (0 = the recent half, the default)."""
    runs = {}
    for ctx in CONTEXTS:
        for w in ABLATION_WINDOWS:
            r = run_eval(args, ctx, "fp32", "swa", SWA_CHECK_SPARSITY, ("--swa-window", "auto" if w == 0 else str(w)))
            runs[f"ctx{ctx}/W{w}"] = r
            print(f"ctx{ctx} swa W={w}: ppl {r['ppl']:.4f}", file=sys.stderr)
    return runs


def window_table(results):
    ablation = results.get("window_ablation")
    if not ablation:
        return []
    head = "| ctx | " + " | ".join("W = recent half (default)" if w == 0 else f"W = {w}"
                                    for w in ABLATION_WINDOWS) + " |"
    lines = [head, "|---" * (len(ABLATION_WINDOWS) + 1) + "|"]
    for ctx in CONTEXTS:
        cells = [f"{ablation[f'ctx{ctx}/W{w}']['ppl']:.4f}" for w in ABLATION_WINDOWS]
        lines.append(f"| {ctx} | " + " | ".join(cells) + " |")
    return lines


def lookup(runs, ctx, kv, policy, s):
    """Dense is independent of the sparsity: its one run stands for every column."""
    return runs[key(ctx, kv, "dense", 0.0) if policy == "dense" else key(ctx, kv, policy, s)]


def run_checks(runs):
    checks = {"swa_within_5pct_of_dense_at_0.8": [], "swa_best_at_sparsity_ge_0.5": [],
              "every_policy_dense_at_0": []}
    for ctx in CONTEXTS:
        for kv in KV_DTYPES:
            dense = lookup(runs, ctx, kv, "dense", 0.0)["ppl"]
            swa08 = lookup(runs, ctx, kv, "swa", SWA_CHECK_SPARSITY)["ppl"]
            checks["swa_within_5pct_of_dense_at_0.8"].append(
                {"ctx": ctx, "kv_dtype": kv, "swa": swa08, "dense": dense, "ratio": swa08 / dense,
                 "ok": swa08 <= dense * (1 + SWA_TOLERANCE)})
            for s in SPARSITIES:
                if s >= 0.5:
                    swa = lookup(runs, ctx, kv, "swa", s)
                    for b in BASELINES:
                        base = lookup(runs, ctx, kv, b, s)
                        if swa["ppl"] > base["ppl"]:
                            checks["swa_best_at_sparsity_ge_0.5"].append(
                                {"ctx": ctx, "kv_dtype": kv, "sparsity": s, "baseline": b,
                                 "swa": swa["ppl"], "baseline_ppl": base["ppl"],
                                 "swa_stderr": swa["stderr"], "baseline_stderr": base["stderr"]})
            for p in POLICIES[1:]:
                got = lookup(runs, ctx, kv, p, 0.0)["ppl"]
                if abs(got - dense) > ZERO_TOLERANCE * dense:
                    checks["every_policy_dense_at_0"].append(
                        {"ctx": ctx, "kv_dtype": kv, "policy": p, "ppl": got, "dense": dense})
    return checks


def checks_pass(checks):
    return (all(c["ok"] for c in checks["swa_within_5pct_of_dense_at_0.8"])
            and not checks["swa_best_at_sparsity_ge_0.5"] and not checks["every_policy_dense_at_0"])


def ppl_table(runs, ctx, kv):
    lines = ["| policy | " + " | ".join(f"S = {s:g}" for s in SPARSITIES) + " |",
             "|---|" + "---|" * len(SPARSITIES)]
    for p in POLICIES:
        cells = []
        for s in SPARSITIES:
            r = lookup(runs, ctx, kv, p, s)
            cells.append(f"{r['ppl']:.4f} ± {r['stderr']:.4f}")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    return lines


def attended_table(runs, ctx, kv):
    lines = ["| policy | " + " | ".join(f"S = {s:g}" for s in SPARSITIES) + " |",
             "|---|" + "---|" * len(SPARSITIES)]
    for p in POLICIES:
        cells = [f"{lookup(runs, ctx, kv, p, s)['kv_tokens_attended_per_step']:.1f}" for s in SPARSITIES]
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    return lines


def ratio_table(runs):
    lines = ["| ctx | KV | " + " | ".join(f"S = {s:g}" for s in SPARSITIES) + " |",
             "|---|---|" + "---|" * len(SPARSITIES)]
    for ctx in CONTEXTS:
        for kv in KV_DTYPES:
            dense = lookup(runs, ctx, kv, "dense", 0.0)["ppl"]
            cells = [f"{lookup(runs, ctx, kv, 'swa', s)['ppl'] / dense:.4f}" for s in SPARSITIES]
            lines.append(f"| {ctx} | {kv} | " + " | ".join(cells) + " |")
    return lines


def kv_dtype_table(runs):
    lines = ["| ctx | policy | fp32 | int8 | int8 / fp32 |", "|---|---|---|---|---|"]
    for ctx in CONTEXTS:
        for p, s in (("dense", 0.0), ("swa", SWA_CHECK_SPARSITY)):
            f32 = lookup(runs, ctx, "fp32", p, s)["ppl"]
            i8 = lookup(runs, ctx, "int8", p, s)["ppl"]
            name = p if p == "dense" else f"{p} S = {s:g}"
            lines.append(f"| {ctx} | {name} | {f32:.4f} | {i8:.4f} | {i8 / f32:.4f} |")
    return lines


def checks_section(checks):
    lines = ["## Checks", ""]
    c1 = checks["swa_within_5pct_of_dense_at_0.8"]
    ok1 = all(c["ok"] for c in c1)
    lines.append(f"1. **SWA at S = {SWA_CHECK_SPARSITY:g} within {SWA_TOLERANCE:.0%} of dense: "
                 f"{'PASS' if ok1 else 'FAIL'}** — "
                 + "; ".join(f"ctx {c['ctx']} {c['kv_dtype']}: {c['ratio']:.4f}×"
                             + ("" if c["ok"] else " (over)") for c in c1) + ".")
    c2 = checks["swa_best_at_sparsity_ge_0.5"]
    lines.append(f"2. **SWA ≤ every baseline at every S ≥ 0.5: {'PASS' if not c2 else 'FAIL'}**"
                 + (" — no violations." if not c2 else f" — {len(c2)} violation(s):"))
    for v in c2:
        lines.append(f"   - ctx {v['ctx']} {v['kv_dtype']} S = {v['sparsity']:g}: swa "
                     f"{v['swa']:.4f} ± {v['swa_stderr']:.4f} > {v['baseline']} "
                     f"{v['baseline_ppl']:.4f} ± {v['baseline_stderr']:.4f}")
    c3 = checks["every_policy_dense_at_0"]
    lines.append(f"3. **Every policy equals dense at S = 0: {'PASS' if not c3 else 'FAIL'}**"
                 + (" — no differences." if not c3 else f" — {len(c3)} difference(s):"))
    for v in c3:
        lines.append(f"   - ctx {v['ctx']} {v['kv_dtype']} {v['policy']}: {v['ppl']:.6f} vs dense "
                     f"{v['dense']:.6f}")
    return lines


def render(results):
    runs, checks = results["runs"], results["checks"]
    any_run = next(iter(runs.values()))
    lines = [
        "# Accuracy: perplexity under sparse attention",
        "",
        "Generated by `bench/accuracy.py` from `bench/results-accuracy.json` — do not edit by hand.",
        "",
        f"- model: stories260K (`{any_run['model']}`), weights {any_run['dtype']}",
        f"- text: `{results['text']}` ({any_run['num_text_tokens']} tokens with BOS), sampled from "
        "stories260K itself by `bench/make_tinystories_text.py`",
        f"- measured: {results['generated']} with `{results['alisa']}`",
        "- method: `alisa eval ppl`, the llama-perplexity convention (chunks of ctx tokens starting "
        "with BOS, empty KV per chunk, the second half of each chunk scored, ppl = exp(mean NLL), "
        "± its standard error). Every position is a decode step, so each policy selects at every "
        "position exactly the tokens it would in a real decode fed the true tokens.",
        "- budget: a query that sees n tokens attends to min(n, max(2, round((1 − S)·n))) of them, "
        "the same for every policy (scheduler/token_selector.hpp).",
        "- all policies share the same chunks, so their errors are strongly correlated: a "
        "difference smaller than the ± can still be systematic.",
        "",
    ]
    lines += checks_section(checks) + [""]
    if os.path.exists(NOTES):  # the hand-written reading of the numbers
        with open(NOTES, encoding="utf-8") as f:
            lines += [f.read().rstrip(), ""]
    if results.get("window_ablation"):
        lines += ["## SWA scoring window (S = 0.8, fp32 KV)", ""] + window_table(results) + [""]
    lines += ["## SWA / dense perplexity ratio", ""] + ratio_table(runs) + [""]
    lines += ["## KV dtype", ""] + kv_dtype_table(runs) + [""]
    for ctx in CONTEXTS:
        for kv in KV_DTYPES:
            r = lookup(runs, ctx, kv, "dense", 0.0)
            lines += [f"## ctx {ctx}, KV {kv} ({r['num_chunks']} chunks, {r['num_tokens_scored']} "
                      "tokens scored)", "", "Perplexity ± standard error:", ""]
            lines += ppl_table(runs, ctx, kv) + ["", "KV tokens attended per step and layer (mean):",
                                                 ""]
            lines += attended_table(runs, ctx, kv) + [""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alisa", default="build/bin/alisa")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--models", default="../shared/models")
    p.add_argument("--text", default="bench/data/stories260k-sampled.txt")
    p.add_argument("--json-out", default="bench/results-accuracy.json")
    p.add_argument("--markdown-out", default="docs/accuracy.md")
    p.add_argument("--render-only", action="store_true")
    args = p.parse_args()

    if args.render_only:
        with open(args.json_out, encoding="utf-8") as f:
            results = json.load(f)
    else:
        runs = run_all(args)
        results = {"generated": datetime.date.today().isoformat(), "alisa": args.alisa,
                   "text": args.text, "runs": runs, "window_ablation": run_window_ablation(args)}
    results["checks"] = run_checks(results["runs"])
    with open(args.json_out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(args.markdown_out, "w", encoding="utf-8") as f:
        f.write(render(results) + "\n")
    ok = checks_pass(results["checks"])
    print(f"accuracy.py: wrote {args.json_out} and {args.markdown_out}; checks "
          f"{'pass' if ok else 'FAIL'}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
