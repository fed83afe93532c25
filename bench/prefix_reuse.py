#!/usr/bin/env python3
"""Many questions about one long document, with and without the prefix cache (issue 16).

Starts `alisa serve` twice on the same model: cold (no prefix cache) and warm
(--prefix-cache-budget), one after the other. Each gets the same 16 streaming completions: the
document (--doc-tokens characters; synthetic models use a byte tokenizer, so about as many
tokens) followed by a different short question. Reports the median time to first token of
questions 2..16 for both, their ratio, each run's total time and generated tokens/s, and the
cached tokens the server reported (usage.prompt_tokens_details.cached_tokens).

Usage: python3 bench/prefix_reuse.py [--alisa build/bin/alisa] [--model synthetic:stories15m]
       [--doc-tokens 8192] [--questions 16] [--max-tokens 16] [--budget 2GiB] [--json]
"""
import argparse
import json
import random
import re
import statistics
import subprocess
import time
import urllib.request


def start_server(args, extra):
    cmd = [args.alisa, "serve", "--host", "127.0.0.1", "--port", "0", "--model", args.model,
           "--context", str(args.doc_tokens + 512)] + extra
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise RuntimeError("alisa serve did not start")


def ask(port, prompt, max_tokens):
    """One streaming completion: (seconds to the first token, total seconds, tokens, cached)."""
    body = json.dumps({"prompt": prompt, "max_tokens": max_tokens, "temperature": 0,
                       "ignore_eos": True, "stream": True,
                       "stream_options": {"include_usage": True}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    first = None
    tokens = 0
    cached = None
    with urllib.request.urlopen(req, timeout=600) as resp:
        for raw in resp:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("choices") and chunk["choices"][0].get("text"):
                if first is None:
                    first = time.perf_counter() - start
                tokens += 1
            usage = chunk.get("usage")
            if usage:
                cached = usage.get("prompt_tokens_details", {}).get("cached_tokens")
    return first, time.perf_counter() - start, tokens, cached


def document_and_questions(doc_tokens, num_questions):
    """The same document (doc_tokens characters of words) and short questions every run."""
    rng = random.Random(7)
    words = ["the", "girl", "park", "dog", "ran", "happy", "tree", "sun", "ball", "friend"]
    document = ""
    while len(document) < doc_tokens:
        document += rng.choice(words) + " "
    document = document[:doc_tokens]
    questions = [f" Question {i}: what did the {rng.choice(words)} do?" for i in range(num_questions)]
    return document, questions


def run(args, document, questions, extra):
    proc, port = start_server(args, extra)
    try:
        start = time.perf_counter()
        answers = [ask(port, document + q, args.max_tokens) for q in questions]
        wall = time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    ttfts = [a[0] for a in answers]
    return {"ttft_first_s": ttfts[0], "ttft_rest_median_s": statistics.median(ttfts[1:]),
            "ttft_s": ttfts, "wall_s": wall,
            "generated_tokens_per_s": sum(a[2] for a in answers) / wall,
            "cached_tokens": [a[3] for a in answers]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alisa", default="build/bin/alisa")
    ap.add_argument("--model", default="synthetic:stories15m")
    ap.add_argument("--doc-tokens", type=int, default=8192)
    ap.add_argument("--questions", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--budget", default="2GiB")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    document, questions = document_and_questions(args.doc_tokens, args.questions)
    cold = run(args, document, questions, [])
    warm = run(args, document, questions, ["--prefix-cache-budget", args.budget])
    result = {"model": args.model, "doc_tokens": args.doc_tokens, "questions": args.questions,
              "max_tokens": args.max_tokens, "cold": cold, "warm": warm,
              "warm_over_cold_ttft": warm["ttft_rest_median_s"] / cold["ttft_rest_median_s"],
              "warm_over_cold_throughput": warm["generated_tokens_per_s"] / cold["generated_tokens_per_s"]}
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.questions} questions about a {args.doc_tokens}-token document ({args.model})")
    for name in ("cold", "warm"):
        r = result[name]
        print(f"  {name}: TTFT first {r['ttft_first_s']:.3f} s, others median "
              f"{r['ttft_rest_median_s']:.3f} s; {r['wall_s']:.1f} s in all, "
              f"{r['generated_tokens_per_s']:.1f} generated tok/s; cached {r['cached_tokens'][1]}")
    print(f"  warm/cold TTFT {result['warm_over_cold_ttft']:.3f}, throughput "
          f"{result['warm_over_cold_throughput']:.2f}x")


if __name__ == "__main__":
    main()
