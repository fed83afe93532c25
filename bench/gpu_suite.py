#!/usr/bin/env python3
"""The CUDA backend's acceptance benchmarks (issue 6), in one run on one GPU machine.

1. Batch-1 and batch-32 decode of a Llama-2-7B-shaped model, bf16, with random weights written by
   `transformers` (`save_pretrained`) and loaded by alisa from that directory: alisa tokens/s,
   the HBM read bandwidth measured in the same run (`measured_read_bandwidth_gbs`, the roofline)
   and the fraction of it reached, against `transformers` eager greedy generation on the same
   weights (target: >= 70% of the roofline, >= 1.0x transformers at batch 1 and 32).
2. The paper's workload (prompt 128, generate 512, batch 4..64) with a device KV budget that
   forces offload: --policy alisa vs flexgen vs vllm, and `transformers` with its offloaded KV
   cache (cache_implementation="offloaded"). Throughput = generated tokens / job wall time.
3. The cost model's inputs as the runs measured them (kv_tiers: PCIe bandwidth, recompute rate)
   and the phases it used.

Configurations are interleaved round by round (machine noise hits all alike); medians over rounds.
Needs: build/bin/alisa built with CUDA, python3 with torch + transformers, ~40 GB of disk for the
weights directory. Prints one JSON object and writes bench/results-gpu-suite.json.

Usage: python3 bench/gpu_suite.py [--alisa build/bin/alisa] [--weights /tmp/alisa-llama2-7b]
           [--rounds 3] [--gen-len 128] [--batches 4,8,16,32,64] [--device-kv-budget 2GiB]
           [--skip-transformers] [--layers 32]
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path


def write_random_llama(path, layers):
    """Llama-2-7B shape (or fewer layers), bf16 random weights, saved the Hugging Face way."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM
    if (Path(path) / "config.json").exists():
        return
    config = LlamaConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=layers,
                         num_attention_heads=32, num_key_value_heads=32, vocab_size=32000,
                         max_position_embeddings=4096, rms_norm_eps=1e-5, torch_dtype="bfloat16")
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(path, safe_serialization=True)
    del model
    torch.cuda.empty_cache()


def alisa_decode(args, batch, extra):
    cmd = [args.alisa, "bench", "decode", "--backend", "cuda", "--model", args.weights,
           "--dtype", "bf16", "--batch", str(batch), "--prompt-len", str(args.prompt_len),
           "--gen-len", str(args.gen_len), "--repetitions", "1", "--warmup", "1", "--json"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def transformers_decode(args, batch, offloaded=False):
    """Eager greedy generation; decode tokens/s = batch * (gen_len - 1) / (time - first token)."""
    import torch
    from transformers import AutoModelForCausalLM
    model = transformers_decode.model
    if model is None:
        model = AutoModelForCausalLM.from_pretrained(args.weights, torch_dtype=torch.bfloat16,
                                                     attn_implementation="eager").cuda().eval()
        transformers_decode.model = model
    ids = torch.randint(3, 32000, (batch, args.prompt_len), device="cuda")
    kw = dict(do_sample=False, pad_token_id=0)
    if offloaded:
        kw["cache_implementation"] = "offloaded"
    with torch.no_grad():
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.generate(ids, max_new_tokens=1, min_new_tokens=1, **kw)
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        model.generate(ids, max_new_tokens=args.gen_len, min_new_tokens=args.gen_len, **kw)
        torch.cuda.synchronize()
        t2 = time.perf_counter()
    prefill = t1 - t0
    total = t2 - t1
    return {"decode_tokens_per_s": batch * (args.gen_len - 1) / max(total - prefill, 1e-9),
            "throughput_tokens_per_s": batch * args.gen_len / total}


transformers_decode.model = None


def median_of(samples, key):
    vals = [s[key]["median"] if isinstance(s[key], dict) else s[key] for s in samples]
    return statistics.median(vals)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alisa", default="build/bin/alisa")
    p.add_argument("--weights", default="/tmp/alisa-llama2-7b")
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--prompt-len", type=int, default=128)
    p.add_argument("--gen-len", type=int, default=128)
    p.add_argument("--paper-gen-len", type=int, default=512)
    p.add_argument("--batches", default="4,8,16,32,64")
    p.add_argument("--device-kv-budget", default="2GiB")
    p.add_argument("--skip-transformers", action="store_true")
    args = p.parse_args()

    write_random_llama(args.weights, args.layers)
    result = {"weights": args.weights, "rounds": args.rounds, "decode": {}, "paper": {}}

    # 1. decode at batch 1 and 32, alisa and transformers interleaved.
    samples = {}
    for r in range(args.rounds):
        for batch in (1, 32):
            samples.setdefault(f"alisa_b{batch}", []).append(alisa_decode(args, batch, []))
            if not args.skip_transformers:
                samples.setdefault(f"transformers_b{batch}", []).append(
                    transformers_decode(args, batch))
            print(f"round {r} batch {batch} done", file=sys.stderr)
    for batch in (1, 32):
        a = samples[f"alisa_b{batch}"]
        entry = {"alisa_tokens_per_s": median_of(a, "decode_tokens_per_s"),
                 "measured_read_bandwidth_gbs": median_of(a, "measured_read_bandwidth_gbs"),
                 "bandwidth_fraction": median_of(a, "bandwidth_fraction"),
                 "backend": a[-1]["backend"]}
        if not args.skip_transformers:
            t = median_of(samples[f"transformers_b{batch}"], "decode_tokens_per_s")
            entry["transformers_tokens_per_s"] = t
            entry["alisa_over_transformers"] = entry["alisa_tokens_per_s"] / t
        result["decode"][f"batch_{batch}"] = entry

    # 2./3. the paper's workload with a device KV budget that forces offload.
    paper = argparse.Namespace(**vars(args))
    paper.gen_len = args.paper_gen_len
    policies = {
        "alisa": ["--policy", "alisa", "--host-kv-budget", "64GiB"],
        "flexgen": ["--policy", "flexgen", "--host-kv-budget", "64GiB"],
        "vllm": ["--policy", "vllm"],
    }
    for batch in [int(b) for b in args.batches.split(",")]:
        point = {}
        for r in range(args.rounds):
            for name, extra in policies.items():
                j = alisa_decode(paper, batch,
                                 extra + ["--device-kv-budget", args.device_kv_budget])
                point.setdefault(name, []).append(j)
            if not args.skip_transformers:
                point.setdefault("transformers_offloaded", []).append(
                    transformers_decode(paper, batch, offloaded=True))
        row = {name: median_of(s, "throughput_tokens_per_s") for name, s in point.items()}
        row["alisa_kv_tiers"] = point["alisa"][-1].get("kv_tiers")
        result["paper"][f"batch_{batch}"] = row
        print(f"paper batch {batch}: {row}", file=sys.stderr)

    out = json.dumps(result, indent=2)
    print(out)
    Path(__file__).with_name("results-gpu-suite.json").write_text(out + "\n")


if __name__ == "__main__":
    main()
