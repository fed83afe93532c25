#!/usr/bin/env python3
"""Regenerates bench/data/stories260k-sampled.txt: TinyStories-like text sampled from stories260K.

The accuracy benchmark (bench/accuracy.py) needs a text that stories260K models well and that is
long enough for many 512-token chunks; the TinyStories validation set is not shipped with the
repository, so the model writes its own. Samples are drawn with

    alisa run --model ../shared/models/stories260K/stories260K.bin
              --tokenizer ../shared/models/stories260K/tok512.bin
              --prompt PROMPT --temperature 1 --seed SEED --max-tokens 500 --json

for SEED = 1 .. --samples (default 40), PROMPT = PROMPTS[(SEED - 1) % 5]. The model emits BOS
where one story ends and the next begins, so each sample is split there into stories (token ids
decoded here with the llama2.c tokenizer file); a story cut off by --max-tokens is trimmed after
its last complete sentence; fragments of 20 characters or less are dropped. Stories are joined
with blank lines. The default run gives 74 stories, 41,590 bytes, 19,904 stories260K tokens (BOS
included): 38 chunks of 512 tokens, 77 of 256.

Usage: bench/make_tinystories_text.py [--alisa build/bin/alisa] [--samples 40]
                                      [--models ../shared/models] [--out bench/data/stories260k-sampled.txt]
Only the Python standard library is used. The output is deterministic for a given alisa binary
(seeded sampling): the binaries of commit fdd4fae and of the sparse-attention work after it both
give the committed file byte for byte (sha256 e7dad93d43cd47425ef799c9ce3ccaacaa49c6ad18c363579af44f1b35ef6650).
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys

PROMPTS = ["Once upon a time", "One day", "Tom and Sue", "There was a", "Lily wanted to"]
BOS, EOS = 1, 2


def load_llama2c_vocab(path):
    """Pieces of a llama2.c tokenizer.bin: int32 max_len, then per token float score, int32 len, bytes."""
    data = open(path, "rb").read()
    offset, pieces = 4, []
    while offset < len(data):
        _score, length = struct.unpack_from("<fi", data, offset)
        offset += 8
        pieces.append(data[offset:offset + length])
        offset += length
    return pieces


def decode(pieces, ids, after_bos):
    """Text of ids as the engine's llama2.c tokenizer gives it: byte tokens become bytes, and the
    first piece after BOS loses its leading space (the encoder's dummy prefix, not text)."""
    out, previous = b"", BOS if after_bos else None
    for i in ids:
        piece = pieces[i]
        match = re.fullmatch(rb"<0x([0-9A-Fa-f]{2})>", piece)
        if match:
            piece = bytes([int(match.group(1), 16)])
        elif previous == BOS and piece.startswith(b" "):
            piece = piece[1:]
        out += piece
        previous = i
    return out.decode("utf-8", errors="replace")


def split_at_bos(ids):
    segments, current = [], []
    for i in ids:
        if i in (BOS, EOS):
            segments.append(current)
            current = []
        else:
            current.append(i)
    segments.append(current)
    return segments


def trim_to_sentence(text):
    """Drops a trailing partial sentence (the sample ran out of tokens mid-story)."""
    ends = [text.rfind(c) for c in ".!?\""]
    cut = max(ends)
    return text[:cut + 1] if cut > 0 else text


def sample(args, seed, prompt):
    cmd = [args.alisa, "run", "--model", os.path.join(args.models, "stories260K/stories260K.bin"),
           "--tokenizer", os.path.join(args.models, "stories260K/tok512.bin"), "--prompt", prompt,
           "--temperature", "1", "--seed", str(seed), "--max-tokens", "500", "--json"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def stories_of(pieces, prompt, result):
    """The sample's stories (the first continues the prompt) and its token count."""
    texts = []
    for k, seg in enumerate(split_at_bos(result["token_ids"])):
        text = prompt + decode(pieces, seg, after_bos=False) if k == 0 else decode(pieces, seg, True)
        texts.append(text.strip())
    if result["finish_reason"] == "length":
        texts[-1] = trim_to_sentence(texts[-1])
    return [t for t in texts if len(t) > 20], len(result["token_ids"]) + result["num_prompt_tokens"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alisa", default="build/bin/alisa")
    p.add_argument("--models", default="../shared/models")
    p.add_argument("--samples", type=int, default=40)
    p.add_argument("--out", default="bench/data/stories260k-sampled.txt")
    args = p.parse_args()
    pieces = load_llama2c_vocab(os.path.join(args.models, "stories260K/tok512.bin"))
    stories, approx_tokens = [], 0
    for seed in range(1, args.samples + 1):
        prompt = PROMPTS[(seed - 1) % len(PROMPTS)]
        texts, n = stories_of(pieces, prompt, sample(args, seed, prompt))
        stories += texts
        approx_tokens += n
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n\n".join(stories) + "\n")
    print(f"{args.out}: {len(stories)} stories, about {approx_tokens} tokens sampled", file=sys.stderr)


if __name__ == "__main__":
    main()
