#!/usr/bin/env python3
"""Batch-1 decode of the same GGUF model stored as Q8_0 and as F32, side by side; one JSON summary.

Target (docs/benchmarks.md): a Q8_0 GGUF decodes at >= 1.7x the tokens/s of the same model in
F32. The two files hold the same values: the Q8_0 file's blocks (random codes, one power-of-two
scale per tensor) and, in the F32 file, exactly those values dequantised. The shape is
stories110m's (768 hidden, 12 layers, 2048 FFN, 32000 vocabulary, ~110M parameters) with the
Llama-2 vocabulary from ../shared/models/llama2-tokenizer; random weights, since decode speed does
not depend on what the weights say. Both run through `alisa bench decode` (--dtype auto: the
Q8_0 blocks run as stored, the F32 file in fp32); a third configuration runs the F32 file as
bf16 for scale. Configurations are interleaved round by round so machine noise hits all alike;
the summary reports medians over rounds and ratios of medians.

Usage: bench/gguf_decode.py [--alisa build/bin/alisa] [--rounds 3] [--gen-len 64]
                            [--prompt-len 64] [--threads 0] [--dir /tmp/alisa-gguf-bench]
Only the Python standard library is used.
"""
import argparse
import importlib.util
import json
import os
import random
import statistics
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "..", "shared", "models", "llama2-tokenizer", "tokenizer.bin")
SHAPE = dict(dim=768, hidden=2048, layers=12, heads=12, kv_heads=12, vocab=32000, seq=1024)
SCALE = 2.0 ** -12  # codes in [-128, 127] -> weights of std ~0.018, like a trained model's


def converter():
    """scripts/llama2c_to_gguf.py as a module: its GGUF header and tokenizer helpers."""
    path = os.path.join(HERE, "..", "scripts", "llama2c_to_gguf.py")
    spec = importlib.util.spec_from_file_location("llama2c_to_gguf", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tensor_list():
    s = SHAPE
    kv = s["kv_heads"] * (s["dim"] // s["heads"])
    out = [("token_embd.weight", [s["dim"], s["vocab"]]), ("output_norm.weight", [s["dim"]])]
    for i in range(s["layers"]):
        p = f"blk.{i}."
        out += [(p + "attn_norm.weight", [s["dim"]]), (p + "attn_q.weight", [s["dim"], s["dim"]]),
                (p + "attn_k.weight", [s["dim"], kv]), (p + "attn_v.weight", [s["dim"], kv]),
                (p + "attn_output.weight", [s["dim"], s["dim"]]), (p + "ffn_norm.weight", [s["dim"]]),
                (p + "ffn_gate.weight", [s["dim"], s["hidden"]]), (p + "ffn_up.weight", [s["dim"], s["hidden"]]),
                (p + "ffn_down.weight", [s["hidden"], s["dim"]])]
    return out


def write_pair(directory, seed=7):
    """Writes model-q8_0.gguf and model-f32.gguf (same values) unless both exist."""
    q8_path = os.path.join(directory, "model-q8_0.gguf")
    f32_path = os.path.join(directory, "model-f32.gguf")
    if os.path.exists(q8_path) and os.path.exists(f32_path):
        return q8_path, f32_path
    os.makedirs(directory, exist_ok=True)
    conv = converter()
    pieces, scores = conv.read_tokenizer(TOKENIZER)
    s = SHAPE
    kvs = [("general.architecture", conv.STRING, conv.gstr("llama")),
           ("llama.embedding_length", conv.U32, struct.pack("<I", s["dim"])),
           ("llama.block_count", conv.U32, struct.pack("<I", s["layers"])),
           ("llama.feed_forward_length", conv.U32, struct.pack("<I", s["hidden"])),
           ("llama.attention.head_count", conv.U32, struct.pack("<I", s["heads"])),
           ("llama.attention.head_count_kv", conv.U32, struct.pack("<I", s["kv_heads"])),
           ("llama.context_length", conv.U32, struct.pack("<I", s["seq"])),
           ("llama.rope.dimension_count", conv.U32, struct.pack("<I", s["dim"] // s["heads"])),
           ("llama.attention.layer_norm_rms_epsilon", conv.F32, struct.pack("<f", 1e-5)),
           ("tokenizer.ggml.model", conv.STRING, conv.gstr("llama")),
           ("tokenizer.ggml.tokens", conv.ARRAY,
            struct.pack("<IQ", conv.STRING, len(pieces)) + b"".join(conv.gstr(p) for p in pieces)),
           ("tokenizer.ggml.scores", conv.ARRAY,
            struct.pack("<IQ", conv.F32, len(scores)) + struct.pack(f"<{len(scores)}f", *scores)),
           ("tokenizer.ggml.bos_token_id", conv.U32, struct.pack("<I", 1)),
           ("tokenizer.ggml.eos_token_id", conv.U32, struct.pack("<I", 2))]
    rng = random.Random(seed)
    scale_bits = struct.pack("<e", SCALE)
    # One 4-byte fp32 value per code byte: the F32 file is the Q8_0 file dequantised exactly.
    as_f32 = [struct.pack("<f", (c - 256 if c > 127 else c) * SCALE) for c in range(256)]
    q8_tensors, f32_tensors = [], []
    for name, dims in tensor_list():
        n = 1
        for d in dims:
            n *= d
        if len(dims) == 1:  # norms: F32 ones in both files
            raw = struct.pack("<f", 1.0) * n
            q8_tensors.append((name, dims, 0, raw))
            f32_tensors.append((name, dims, 0, raw))
            continue
        codes = rng.randbytes(n)
        q8 = b"".join(scale_bits + codes[i:i + 32] for i in range(0, n, 32))
        q8_tensors.append((name, dims, 8, q8))
        f32_tensors.append((name, dims, 0, b"".join(map(as_f32.__getitem__, codes))))
    for path, tensors in ((q8_path, q8_tensors), (f32_path, f32_tensors)):
        write_gguf(conv, path, kvs, tensors)
    return q8_path, f32_path


def write_gguf(conv, path, kvs, tensors):
    infos, offset, chunks = b"", 0, []
    for name, dims, gtype, raw in tensors:
        pad = -offset % conv.ALIGN
        chunks.append(b"\0" * pad)
        offset += pad
        infos += conv.gstr(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        infos += struct.pack("<IQ", gtype, offset)
        chunks.append(raw)
        offset += len(raw)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    head += b"".join(conv.gstr(k) + struct.pack("<I", t) + v for k, t, v in kvs) + infos
    head += b"\0" * (-len(head) % conv.ALIGN)
    with open(path + ".tmp", "wb") as f:
        f.write(head)
        for c in chunks:
            f.write(c)
    os.replace(path + ".tmp", path)


def run_one(args, model, dtype):
    cmd = [args.alisa, "bench", "decode", "--model", model, "--dtype", dtype, "--batch", "1",
           "--prompt-len", str(args.prompt_len), "--gen-len", str(args.gen_len),
           "--repetitions", "1", "--warmup", "1", "--threads", str(args.threads), "--json"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alisa", default="build/bin/alisa")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--gen-len", type=int, default=64)
    p.add_argument("--prompt-len", type=int, default=64)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--dir", default="/tmp/alisa-gguf-bench")
    args = p.parse_args()
    q8_path, f32_path = write_pair(args.dir)
    configs = [("q8_0_gguf", q8_path, "auto"), ("f32_gguf", f32_path, "auto"),
               ("f32_gguf_as_bf16", f32_path, "bf16")]
    samples = {name: [] for name, _, _ in configs}
    for r in range(args.rounds):
        for name, model, dtype in configs:
            j = run_one(args, model, dtype)
            samples[name].append(j)
            print(f"round {r} {name}: {j['decode_tokens_per_s']['median']:.2f} tok/s ({j['dtype']})",
                  file=sys.stderr)

    def med(name, key):
        return statistics.median(s[key]["median"] if isinstance(s[key], dict) else s[key]
                                 for s in samples[name])

    summary = {"shape": SHAPE, "rounds": args.rounds, "gen_len": args.gen_len,
               "prompt_len": args.prompt_len, "backend": samples["f32_gguf"][-1]["backend"],
               "file_bytes": {"q8_0": os.path.getsize(q8_path), "f32": os.path.getsize(f32_path)},
               "configs": {}}
    for name, _, _ in configs:
        last = samples[name][-1]
        summary["configs"][name] = {
            "dtype": last["dtype"],
            "decode_tokens_per_s": med(name, "decode_tokens_per_s"),
            "decode_tokens_per_s_rounds": [s["decode_tokens_per_s"]["median"] for s in samples[name]],
            "prompt_tokens_per_s": med(name, "prompt_tokens_per_s"),
            "weight_bytes_per_step": last["weight_bytes_per_step"],
            "achieved_total_bandwidth_gbs": med(name, "achieved_total_bandwidth_gbs"),
            "measured_read_bandwidth_gbs": med(name, "measured_read_bandwidth_gbs"),
        }
    c = summary["configs"]
    summary["targets"] = {
        "q8_0_over_f32_b1": c["q8_0_gguf"]["decode_tokens_per_s"] / c["f32_gguf"]["decode_tokens_per_s"],
        "q8_0_over_bf16_b1": c["q8_0_gguf"]["decode_tokens_per_s"] / c["f32_gguf_as_bf16"]["decode_tokens_per_s"],
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
