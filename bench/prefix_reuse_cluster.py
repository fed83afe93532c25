#!/usr/bin/env python3
"""A long document's prefix reused by another worker through a memory node (issue 16).

Two runs of `alisa cluster up --workers 1 --memory-nodes 1 --http PORT`, side by side:
  cold:   no prefix cache; 16 streaming questions about one document.
  shared: --prefix-cache-budget on the workers. Worker 1 answers question 1 and is then killed;
          worker 2 (started by hand, the same flags, an empty prefix cache) joins and answers
          questions 2..16. Its first answer takes the document's blocks from the memory node
          (the only place they survive); the rest find them in its own RAM.
Reports each question's time to first token, the cached tokens the server reported, and:
  other_worker_ttft_s: question 2's TTFT (blocks fetched from the memory node),
  warm_ttft_median_s: median of questions 3..16 (worker 2's RAM),
  cold_ttft_median_s: median of the cold run's questions 2..16,
the ratios of the first two to the third, and generated tokens/s over all 16 requests of each
run (question 1 included: cold in both).

Usage: python3 bench/prefix_reuse_cluster.py [--alisa build/bin/alisa]
       [--model synthetic:stories15m] [--doc-tokens 8192] [--questions 16] [--max-tokens 16]
       [--base-port 27700] [--json]
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import time

from prefix_reuse import ask, document_and_questions


def status_workers(args, port):
    out = subprocess.run([args.alisa, "status", "--coordinator", f"127.0.0.1:{port}", "--json"],
                         capture_output=True, text=True, timeout=60)
    try:
        return json.loads(out.stdout).get("workers", -1)
    except ValueError:
        return -1


def wait_workers(args, port, n):
    deadline = time.time() + 120
    while time.time() < deadline:
        if status_workers(args, port) == n:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the coordinator never counted {n} workers")


def engine_flags(args, prefix):
    flags = ["--model", args.model, "--context", str(args.doc_tokens + 512), "--threads", "2",
             "--device-kv-budget", "1GiB"]
    return flags + (["--prefix-cache-budget", "2GiB"] if prefix else [])


def start_cluster(args, prefix):
    port = args.base_port
    cmd = [args.alisa, "cluster", "up", "--base-port", str(port), "--workers", "1",
           "--memory-nodes", "1", "--host-kv-budget", "4GiB", "--http", str(port + 50)]
    proc = subprocess.Popen(cmd + engine_flags(args, prefix), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    pids = {}
    deadline = time.time() + 180
    while time.time() < deadline:
        line = proc.stdout.readline()
        m = re.match(r"(\w+) \S+ pid (\d+)", line)
        if m:
            pids[m.group(1)] = int(m.group(2))
        if line.startswith("ready:"):
            time.sleep(1)  # the HTTP front starts right after
            return proc, pids
    proc.kill()
    raise RuntimeError("alisa cluster up did not start")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def run_cold(args, document, questions):
    proc, _ = start_cluster(args, prefix=False)
    try:
        answers = [ask(args.base_port + 50, document + q, args.max_tokens) for q in questions]
    finally:
        stop(proc)
    return answers


def run_shared(args, document, questions):
    proc, pids = start_cluster(args, prefix=True)
    second = None
    try:
        http = args.base_port + 50
        answers = [ask(http, document + questions[0], args.max_tokens)]
        os.kill(pids["worker"], signal.SIGKILL)
        wait_workers(args, args.base_port, 0)
        second = subprocess.Popen([args.alisa, "node", "--role", "worker", "--coordinator",
                                   f"127.0.0.1:{args.base_port}"] + engine_flags(args, True),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_workers(args, args.base_port, 1)
        answers += [ask(http, document + q, args.max_tokens) for q in questions[1:]]
    finally:
        if second:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
        stop(proc)
    return answers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alisa", default="build/bin/alisa")
    ap.add_argument("--model", default="synthetic:stories15m")
    ap.add_argument("--doc-tokens", type=int, default=8192)
    ap.add_argument("--questions", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=16)
    ap.add_argument("--base-port", type=int, default=27700)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    document, questions = document_and_questions(args.doc_tokens, args.questions)
    cold = run_cold(args, document, questions)
    shared = run_shared(args, document, questions)
    cold_median = statistics.median(a[0] for a in cold[1:])
    other = shared[1][0]
    warm_median = statistics.median(a[0] for a in shared[2:])
    result = {"model": args.model, "doc_tokens": args.doc_tokens, "questions": args.questions,
              "max_tokens": args.max_tokens,
              "cold_ttft_s": [a[0] for a in cold], "shared_ttft_s": [a[0] for a in shared],
              "shared_cached_tokens": [a[3] for a in shared],
              "cold_ttft_median_s": cold_median, "other_worker_ttft_s": other,
              "warm_ttft_median_s": warm_median,
              "other_worker_over_cold_ttft": other / cold_median,
              "warm_over_cold_ttft": warm_median / cold_median,
              # Questions one after the other: generated tokens over the summed request times.
              "cold_generated_tokens_per_s": sum(a[2] for a in cold) / sum(a[1] for a in cold),
              "shared_generated_tokens_per_s": sum(a[2] for a in shared) / sum(a[1] for a in shared)}
    result["shared_over_cold_throughput"] = (result["shared_generated_tokens_per_s"] /
                                             result["cold_generated_tokens_per_s"])
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.questions} questions about a {args.doc_tokens}-token document ({args.model}), "
          "1 worker replaced by another, 1 memory node")
    print(f"  cold TTFT median {cold_median:.3f} s")
    print(f"  question 2 on the other worker (memory node): {other:.3f} s "
          f"({result['other_worker_over_cold_ttft']:.3f}x cold), cached {shared[1][3]}")
    print(f"  questions 3..{args.questions} (its RAM): median {warm_median:.3f} s "
          f"({result['warm_over_cold_ttft']:.3f}x cold)")
    print(f"  generated tok/s: cold {result['cold_generated_tokens_per_s']:.1f}, shared "
          f"{result['shared_generated_tokens_per_s']:.1f} "
          f"({result['shared_over_cold_throughput']:.2f}x)")


if __name__ == "__main__":
    main()
