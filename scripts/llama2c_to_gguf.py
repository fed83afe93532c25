#!/usr/bin/env python3
"""Converts a llama2.c checkpoint (.bin) and its tokenizer (tok*.bin) to a Llama GGUF file.

The layout is the one llama.cpp's converters write: `llama.*` metadata, `token_embd`,
`output_norm`, `output` (only when the classifier is not tied), and per block `attn_norm`,
`attn_q/k/v`, `attn_output`, `ffn_norm`, `ffn_gate/up/down`. Q and K keep llama2.c's interleaved
RoPE pairs, which is what GGUF's llama expects. The tokenizer becomes a `llama` vocabulary
(pieces with spaces as U+2581, and scores). Matrices are written as F32, F16, Q8_0 or Q4_0
(--type; Q4_0 with the symmetric scale max|x|/7); norms stay F32. Pure Python (no numpy): meant for small models and tests.

Usage: python3 scripts/llama2c_to_gguf.py MODEL.bin TOKENIZER.bin OUT.gguf [--type f32|f16|q8_0|q4_0]
"""
import argparse
import struct
from array import array

ALIGN = 32
STRING, ARRAY, U32, F32 = 8, 9, 4, 6


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def read_checkpoint(path):
    data = open(path, "rb").read()
    dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack_from("<7i", data, 0)
    tied = vocab > 0
    vocab = abs(vocab)
    floats = array("f")
    floats.frombytes(data[28:])
    at = 0

    def take(*shape):
        nonlocal at
        n = 1
        for d in shape:
            n *= d
        out = floats[at:at + n]
        at += n
        return out

    head = dim // heads
    kv = kv_heads * head
    w = {"embd": take(vocab, dim), "attn_norm": take(layers, dim), "wq": take(layers, dim, dim),
         "wk": take(layers, kv, dim), "wv": take(layers, kv, dim), "wo": take(layers, dim, dim),
         "ffn_norm": take(layers, dim), "w1": take(layers, hidden, dim),
         "w2": take(layers, dim, hidden), "w3": take(layers, hidden, dim), "norm": take(dim)}
    take(seq, head)  # legacy RoPE tables
    w["output"] = None if tied else take(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads,
               vocab=vocab, seq=seq)
    return cfg, w


def read_tokenizer(path):
    data = open(path, "rb").read()
    at = 4
    pieces, scores = [], []
    while at < len(data):
        score, n = struct.unpack_from("<fi", data, at)
        at += 8
        pieces.append(data[at:at + n].replace(b" ", "\u2581".encode()))
        scores.append(score)
        at += n
    return pieces, scores


def f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


def encode(values, kind):
    if kind == "f32":
        return 0, values.tobytes()
    if kind == "f16":
        return 1, struct.pack(f"<{len(values)}e", *values)
    out = bytearray()
    if kind == "q4_0":  # per 32 values an f16 scale max|x|/7 and 4-bit round(x/d)+8, two per byte
        for b in range(0, len(values), 32):
            block = values[b:b + 32]
            d = max(abs(v) for v in block) / 7.0
            q = [8 if d == 0 else max(0, min(15, round(v / d) + 8)) for v in block]
            out += struct.pack("<H", f16_bits(d))
            out += bytes(q[j] | (q[j + 16] << 4) for j in range(16))
        return 2, bytes(out)
    # q8_0: per 32 values an f16 scale max|x|/127 and 32 rounded int8
    for b in range(0, len(values), 32):
        block = values[b:b + 32]
        d = max(abs(v) for v in block) / 127.0
        out += struct.pack("<H", f16_bits(d))
        out += struct.pack("<32b", *[0 if d == 0 else max(-127, min(127, round(v / d))) for v in block])
    return 8, bytes(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("tokenizer")
    ap.add_argument("out")
    ap.add_argument("--type", choices=["f32", "f16", "q8_0", "q4_0"], default="f32")
    args = ap.parse_args()
    cfg, w = read_checkpoint(args.model)
    pieces, scores = read_tokenizer(args.tokenizer)
    dim, hidden, layers = cfg["dim"], cfg["hidden"], cfg["layers"]
    kv = cfg["kv_heads"] * (dim // cfg["heads"])

    kvs = [("general.architecture", STRING, gstr("llama")),
           ("llama.embedding_length", U32, struct.pack("<I", dim)),
           ("llama.block_count", U32, struct.pack("<I", layers)),
           ("llama.feed_forward_length", U32, struct.pack("<I", hidden)),
           ("llama.attention.head_count", U32, struct.pack("<I", cfg["heads"])),
           ("llama.attention.head_count_kv", U32, struct.pack("<I", cfg["kv_heads"])),
           ("llama.context_length", U32, struct.pack("<I", cfg["seq"])),
           ("llama.rope.dimension_count", U32, struct.pack("<I", dim // cfg["heads"])),
           ("llama.attention.layer_norm_rms_epsilon", F32, struct.pack("<f", 1e-5)),
           ("llama.rope.freq_base", F32, struct.pack("<f", 10000.0)),
           ("tokenizer.ggml.model", STRING, gstr("llama")),
           ("tokenizer.ggml.tokens", ARRAY,
            struct.pack("<IQ", STRING, len(pieces)) + b"".join(gstr(p) for p in pieces)),
           ("tokenizer.ggml.scores", ARRAY,
            struct.pack("<IQ", F32, len(scores)) + struct.pack(f"<{len(scores)}f", *scores)),
           ("tokenizer.ggml.bos_token_id", U32, struct.pack("<I", 1)),
           ("tokenizer.ggml.eos_token_id", U32, struct.pack("<I", 2))]

    tensors = []  # (name, gguf dims (fastest first), values, is_matrix)

    def layer(all_, i, rows, cols):
        n = rows * cols
        return all_[i * n:(i + 1) * n]

    tensors.append(("token_embd.weight", [dim, cfg["vocab"]], w["embd"], True))
    tensors.append(("output_norm.weight", [dim], w["norm"], False))
    if w["output"] is not None:
        tensors.append(("output.weight", [dim, cfg["vocab"]], w["output"], True))
    for i in range(layers):
        p = f"blk.{i}."
        tensors += [(p + "attn_norm.weight", [dim], layer(w["attn_norm"], i, 1, dim), False),
                    (p + "attn_q.weight", [dim, dim], layer(w["wq"], i, dim, dim), True),
                    (p + "attn_k.weight", [dim, kv], layer(w["wk"], i, kv, dim), True),
                    (p + "attn_v.weight", [dim, kv], layer(w["wv"], i, kv, dim), True),
                    (p + "attn_output.weight", [dim, dim], layer(w["wo"], i, dim, dim), True),
                    (p + "ffn_norm.weight", [dim], layer(w["ffn_norm"], i, 1, dim), False),
                    (p + "ffn_gate.weight", [dim, hidden], layer(w["w1"], i, hidden, dim), True),
                    (p + "ffn_up.weight", [dim, hidden], layer(w["w3"], i, hidden, dim), True),
                    (p + "ffn_down.weight", [hidden, dim], layer(w["w2"], i, dim, hidden), True)]

    infos, data = b"", b""
    for name, dims, values, matrix in tensors:
        kind = args.type if matrix and dims[0] % 32 == 0 else "f32"
        gtype, raw = encode(values, kind)
        data += b"\0" * (-len(data) % ALIGN)
        infos += gstr(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        infos += struct.pack("<IQ", gtype, len(data))
        data += raw
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    head += b"".join(gstr(k) + struct.pack("<I", t) + v for k, t, v in kvs) + infos
    head += b"\0" * (-len(head) % ALIGN)
    with open(args.out, "wb") as f:
        f.write(head + data)


if __name__ == "__main__":
    main()
