#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/) with clang and runs each one.
#
#   scripts/fuzz.sh                 1,000,000 executions per harness (minutes each)
#   scripts/fuzz.sh --runs N        N executions per harness
#   scripts/fuzz.sh --smoke         a short run per harness (what ctest's fuzz.smoke does)
#   scripts/fuzz.sh --only NAME     one harness (fuzz_safetensors, fuzz_hf_config, ...)
#
# Build directory: $ALISA_FUZZ_BUILD or build-fuzz/. Seeds come from the bundled model files and
# small hand-made inputs; findings (crash-*, leak-*, timeout-*) land in the build directory and
# the script exits non-zero. Exit 77 (skipped) when clang or libFuzzer is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ALISA_FUZZ_BUILD:-$root/build-fuzz}"
runs=1000000
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --smoke) runs=20000; shift ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if ! command -v clang++ >/dev/null || ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  echo "fuzz.sh: skipped: clang++ with libFuzzer not found (apt-get install clang libclang-rt-14-dev)"
  exit 77
fi

cmake -S "$root/tests/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" 2>&1 | grep -E "error|warning: unused" || true
[ -x "$build/fuzz_safetensors" ] || { echo "fuzz.sh: the build failed" >&2; exit 1; }

# Seeds: one directory per harness.
seeds="$build/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{fuzz_safetensors,fuzz_hf_config,fuzz_hf_tokenizer,fuzz_llama2c,fuzz_caf_messages,fuzz_config_file,fuzz_sentencepiece,fuzz_kv_values,fuzz_gguf}
builtin="$root/model/builtin"
cp "$builtin/stories260K-hf/config.json" "$seeds/fuzz_hf_config/"
python3 - "$seeds" <<'PY'
import json, struct, sys
seeds = sys.argv[1]
header = json.dumps({"__metadata__": {"format": "pt"},
                     "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
                     "b": {"dtype": "BF16", "shape": [4], "data_offsets": [16, 24]}}).encode()
with open(f"{seeds}/fuzz_safetensors/small.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header + bytes(24))
vocab = {chr(c): i for i, c in enumerate(range(ord("a"), ord("z") + 1))}
vocab.update({"ab": 26, "abc": 27, "\u0120": 28})
tok = {"version": "1.0", "added_tokens": [{"id": 29, "content": "<|endoftext|>", "special": True}],
       "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
       "decoder": {"type": "ByteLevel"},
       "model": {"type": "BPE", "vocab": vocab, "merges": ["a b", "ab c"]}}
with open(f"{seeds}/fuzz_hf_tokenizer/small.json", "wb") as f:
    f.write(b"\x00" + json.dumps(tok).encode())
# Llama-2 style: Prepend/Replace normalizer, byte fallback, the Metaspace-era decoder chain.
pieces = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + ["\u2581", "a", "b", "\u2581a", "ab"]
llama = {"version": "1.0", "added_tokens": [{"id": 1, "content": "<s>", "special": True},
                                            {"id": 264, "content": "<mask>", "special": True, "lstrip": True}],
         "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                                                             {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
         "pre_tokenizer": None,
         "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                                       {"type": "ByteFallback"}, {"type": "Fuse"},
                                                       {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
         "model": {"type": "BPE", "vocab": {p: i for i, p in enumerate(pieces)}, "merges": ["\u2581 a", "a b"],
                   "byte_fallback": True, "unk_token": "<unk>", "fuse_unk": True}}
with open(f"{seeds}/fuzz_hf_tokenizer/llama2.json", "wb") as f:  # first byte: vocab 64 + 4*0x60
    f.write(b"\x60" + json.dumps(llama).encode())
unigram = {"version": "1.0", "added_tokens": [], "normalizer": None,
           "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
           "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
           "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": False,
                     "vocab": [["<unk>", 0.0], ["\u2581", -2.0], ["a", -3.0], ["b", -3.5], ["ab", -2.5], ["\u2581ab", -4.0]]}}
with open(f"{seeds}/fuzz_hf_tokenizer/unigram.json", "wb") as f:
    f.write(b"\x00" + json.dumps(unigram).encode())
PY
{ printf '\x00'; head -c 65536 "$builtin/stories260K/stories260K.bin"; } > "$seeds/fuzz_llama2c/checkpoint-head"
{ printf '\x01'; cat "$builtin/stories260K/tok512.bin"; } > "$seeds/fuzz_llama2c/tok512"
python3 - "$seeds/fuzz_kv_values/prefix-block" <<'PY'
import struct, sys
# A prefix block of the harness's shape (2 layers, kv_dim 4, no hidden rows), CRC left for the
# harness to repair (selector byte 3).
tokens = struct.pack("<64i", *range(64))
floats = struct.pack("<1024f", *([0.5] * 1024))
frame = b"APFX" + struct.pack("<IQQQQIII", 1, 1, 2, 3, 4, 0, 8, 0) + tokens + floats
with open(sys.argv[1], "wb") as f:
    f.write(b"\x03" + frame + b"\0\0\0\0")
PY
python3 - "$seeds/fuzz_gguf/small.gguf" <<'PY'
import struct, sys
# GGUF v3: two metadata entries (a string, a string array) and two tensors (F32, Q8_0).
def s(x): return struct.pack("<Q", len(x)) + x
kv = s(b"general.architecture") + struct.pack("<I", 8) + s(b"llama")
kv += s(b"tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2) + s(b"<s>") + s(b"a")
infos = s(b"token_embd.weight") + struct.pack("<IQQIQ", 2, 2, 2, 0, 0)
infos += s(b"blk.0.attn_q.weight") + struct.pack("<IQIQ", 1, 32, 8, 32)
head = b"GGUF" + struct.pack("<IQQ", 3, 2, 2) + kv + infos
head += b"\0" * (-len(head) % 32)
data = struct.pack("<4f", 1, 2, 3, 4) + b"\0" * 16 + b"\x00\x3c" + bytes(range(32))
open(sys.argv[1], "wb").write(head + data)
PY
printf 'model = stories260K\n# a comment\nstop = "\\n\\n"\njson = true\nmax-tokens = 8\n' > "$seeds/fuzz_config_file/run.conf"

status=0
for harness in fuzz_safetensors fuzz_hf_config fuzz_hf_tokenizer fuzz_llama2c fuzz_caf_messages \
               fuzz_config_file fuzz_sentencepiece fuzz_kv_values fuzz_gguf; do
  [ -n "$only" ] && [ "$only" != "$harness" ] && continue
  corpus="$build/corpus/$harness"
  mkdir -p "$corpus"
  log="$build/$harness.log"
  start=$(date +%s)
  if (cd "$build" && "./$harness" -runs="$runs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 "$corpus" "$seeds/$harness" >"$log" 2>&1); then
    done_line=$(grep -E "^Done [0-9]+ runs" "$log" | tail -1)
    echo "$harness: ${done_line:-done} ($(( $(date +%s) - start )) s wall, corpus $(ls "$corpus" | wc -l) inputs)"
  else
    echo "$harness: FAILED (see $log)"
    grep -E "ERROR|SUMMARY|==[0-9]+==" "$log" | head -5
    status=1
  fi
done
exit $status
