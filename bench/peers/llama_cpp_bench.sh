#!/usr/bin/env bash
# Copyright The Tenet authors.
#
# Licensed under the Apache License, Version 2.0 (the "License"); you may not use this file except in
# compliance with the License. You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software distributed under the License is
# distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
# implied. See the License for the specific language governing permissions and limitations under the
# License.
#
# llama_cpp_bench.sh: llama.cpp as a measured peer for Tenet's generation benchmarks.
#
# Converts a Tenet / HF Llama folder to GGUF (bench/peers/tenet_to_gguf.py, same shape and dtype;
# cached next to the folder, else under $TMPDIR), runs llama-bench for prompt processing (pp) and
# token generation (tg) and, with --batch-decode BxT, llama-batched-bench for B sequences decoding T
# tokens each after one short shared prompt. Prints ONE JSON line on stdout; progress goes to stderr.
# llama.cpp is not part of Tenet: build it yourself, e.g.
#   cmake -S llama.cpp -B llama.cpp/build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DGGML_NATIVE=ON
#   cmake --build llama.cpp/build --target llama-bench llama-batched-bench -j
#
# Usage:
#   llama_cpp_bench.sh --llama-cpp DIR [--build-dir DIR] --model HF_FOLDER [--threads N]
#                      [--pp 128] [--tg 64] [--reps 3] [--flash-attn] [--outtype auto|bf16|f32|f16]
#                      [--batch-decode 32x128] [--batch-prompt 64] [--gguf FILE]
set -euo pipefail

die() { echo "llama_cpp_bench: error: $*" >&2; exit 2; }
log() { echo "llama_cpp_bench: $*" >&2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LLAMA_CPP="" BUILD_DIR="" MODEL="" GGUF="" THREADS="" PP=128 TG=64 REPS=3 FA=0 OUTTYPE=auto
BATCH="" BATCH_PROMPT=64

usage() { sed -n '/^# Usage:/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
need() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --llama-cpp) need "$@"; LLAMA_CPP=$2; shift 2 ;;
    --build-dir) need "$@"; BUILD_DIR=$2; shift 2 ;;
    --model) need "$@"; MODEL=$2; shift 2 ;;
    --gguf) need "$@"; GGUF=$2; shift 2 ;;
    --threads|-t) need "$@"; THREADS=$2; shift 2 ;;
    --pp) need "$@"; PP=$2; shift 2 ;;
    --tg) need "$@"; TG=$2; shift 2 ;;
    --reps) need "$@"; REPS=$2; shift 2 ;;
    --flash-attn) FA=1; shift ;;
    --outtype) need "$@"; OUTTYPE=$2; shift 2 ;;
    --batch-decode) need "$@"; BATCH=$2; shift 2 ;;
    --batch-prompt) need "$@"; BATCH_PROMPT=$2; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

# --- inputs
[[ -n "$LLAMA_CPP" || -n "$BUILD_DIR" ]] || die "--llama-cpp DIR (a built llama.cpp checkout) is required"
[[ -n "$MODEL" ]] || die "--model HF_FOLDER is required"
if [[ -z "$BUILD_DIR" ]]; then BUILD_DIR="$LLAMA_CPP/build"; fi
[[ -z "$LLAMA_CPP" && -f "$BUILD_DIR/../gguf-py/gguf/__init__.py" ]] && LLAMA_CPP="$BUILD_DIR/.."
[[ -n "$LLAMA_CPP" && -f "$LLAMA_CPP/gguf-py/gguf/__init__.py" ]] \
  || die "no gguf-py in '${LLAMA_CPP:-?}': --llama-cpp must be a llama.cpp checkout"
LLAMA_CPP=$(cd "$LLAMA_CPP" && pwd)
find_bin() {
  local b
  for b in "$BUILD_DIR/bin/$1" "$BUILD_DIR/$1"; do [[ -x "$b" ]] && { echo "$b"; return 0; }; done
  return 0
}
BENCH=$(find_bin llama-bench)
[[ -n "$BENCH" ]] || die "llama-bench not found in $BUILD_DIR/bin (build it: cmake --build $BUILD_DIR --target llama-bench llama-batched-bench)"
BATCHED=""
if [[ -n "$BATCH" ]]; then
  [[ "$BATCH" =~ ^([0-9]+)x([0-9]+)$ ]] || die "--batch-decode wants SEQUENCESxTOKENS, e.g. 32x128"
  NPL=${BASH_REMATCH[1]} NTG=${BASH_REMATCH[2]}
  BATCHED=$(find_bin llama-batched-bench)
  [[ -n "$BATCHED" ]] || die "llama-batched-bench not found in $BUILD_DIR/bin (build it: cmake --build $BUILD_DIR --target llama-batched-bench)"
fi
[[ -d "$MODEL" ]] || die "model folder '$MODEL' not found"
MODEL=$(cd "$MODEL" && pwd)
[[ -f "$MODEL/config.json" ]] || die "$MODEL/config.json not found (not a Tenet/HF model folder)"
[[ -f "$MODEL/model.safetensors" || -f "$MODEL/model.safetensors.index.json" ]] \
  || die "$MODEL has neither model.safetensors nor model.safetensors.index.json"
[[ -f "$MODEL/tokenizer.json" ]] || die "$MODEL/tokenizer.json not found"
[[ -z "$THREADS" ]] && THREADS=$(nproc)
for v in THREADS PP TG REPS BATCH_PROMPT; do [[ "${!v}" =~ ^[0-9]+$ ]] || die "--${v,,} must be a number"; done

PY=""
for p in "${PYTHON:-}" python3 /usr/bin/python3; do
  [[ -n "$p" ]] && command -v "$p" >/dev/null && "$p" -c 'import numpy' 2>/dev/null && { PY=$p; break; }
done
[[ -n "$PY" ]] || die "no python3 with numpy (apt-get install -y python3-numpy, or set PYTHON=)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/llama-cpp-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# --- GGUF (re)conversion when missing or older than the folder's files or the converter
if [[ -z "$GGUF" ]]; then
  GGUF="$MODEL.llama-cpp-$OUTTYPE.gguf"
  if ! { [[ -f "$GGUF" && -w "$GGUF" ]] || [[ ! -e "$GGUF" && -w "$(dirname "$MODEL")" ]]; }; then
    mkdir -p "${TMPDIR:-/tmp}/tenet-gguf"
    GGUF="${TMPDIR:-/tmp}/tenet-gguf/$(echo "$MODEL" | tr '/' '_' | sed 's/^_//').llama-cpp-$OUTTYPE.gguf"
  fi
fi
stale=0
[[ -f "$GGUF" ]] || stale=1
if [[ $stale == 0 ]]; then
  for f in "$MODEL"/config.json "$MODEL"/*.safetensors "$MODEL"/*.json "$HERE/tenet_to_gguf.py"; do
    [[ -e "$f" && "$f" -nt "$GGUF" ]] && { stale=1; break; }
  done
fi
if [[ $stale == 1 ]]; then
  log "converting $MODEL -> $GGUF ($OUTTYPE)"
  "$PY" "$HERE/tenet_to_gguf.py" "$MODEL" --out "$GGUF" --outtype "$OUTTYPE" --llama-cpp "$LLAMA_CPP" --quiet \
    || die "GGUF conversion of $MODEL failed"
fi

# --- llama-bench: pp and tg
log "llama-bench -m $GGUF -t $THREADS -p $PP -n $TG -fa $FA -r $REPS"
if ! "$BENCH" -m "$GGUF" -t "$THREADS" -p "$PP" -n "$TG" -fa "$FA" -r "$REPS" -o json \
    >"$WORK/bench.json" 2>"$WORK/bench.log"; then
  tail -20 "$WORK/bench.log" >&2
  die "llama-bench failed on $GGUF"
fi

# --- llama-batched-bench: NPL sequences x NTG tokens after one shared BATCH_PROMPT-token prompt
if [[ -n "$BATCHED" ]]; then
  NCTX=$(( (BATCH_PROMPT + NPL * NTG + 255) / 256 * 256 ))
  log "llama-batched-bench -c $NCTX -npp $BATCH_PROMPT -ntg $NTG -npl $NPL -pps -t $THREADS"
  # -fa is a plain switch in older llama.cpp, and takes on|off|auto in newer ones
  fa_args=()
  if "$BATCHED" --help 2>&1 | grep -qE -- '--flash-attn +\[?(FA|on\|off)'; then
    if [[ $FA == 1 ]]; then fa_args=(-fa on); else fa_args=(-fa off); fi
  elif [[ $FA == 1 ]]; then
    fa_args=(-fa)
  fi
  if ! "$BATCHED" -m "$GGUF" -t "$THREADS" -tb "$THREADS" -c "$NCTX" -b 2048 -ub 512 \
      -npp "$BATCH_PROMPT" -ntg "$NTG" -npl "$NPL" -pps "${fa_args[@]}" --output-format jsonl \
      >"$WORK/batched.out" 2>"$WORK/batched.log"; then
    tail -20 "$WORK/batched.log" >&2
    die "llama-batched-bench failed on $GGUF"
  fi
fi

# --- which ISA the CPU backend was compiled for: its compile flags, expanded by the compiler
cpu_flags=""
if [[ -f "$BUILD_DIR/ggml/src/CMakeFiles/ggml-cpu.dir/flags.make" ]]; then
  cpu_flags=$(grep -m1 '^C_FLAGS' "$BUILD_DIR/ggml/src/CMakeFiles/ggml-cpu.dir/flags.make" || true)
elif [[ -f "$BUILD_DIR/build.ninja" ]]; then
  cpu_flags=$(awk '/^build ggml\/src\/CMakeFiles\/ggml-cpu.dir\/.*\.c\.o:/ {f=1; next} f && /FLAGS =/ {print; exit}' \
    "$BUILD_DIR/build.ninja")
fi
isa_flags=$(tr ' ' '\n' <<<"$cpu_flags" | grep -E '^-(march|mtune|mavx|mfma|mf16c|msse|mbmi|mamx)' | sort -u | tr '\n' ' ' || true)
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
macros=""
if [[ -n "$isa_flags" ]]; then
  # shellcheck disable=SC2086
  macros=$("${cc:-cc}" $isa_flags -dM -E - </dev/null 2>/dev/null | awk '{print $2}' | tr '\n' ' ' || true)
fi

BENCH_JSON="$WORK/bench.json" BATCHED_OUT="$WORK/batched.out" \
MODEL="$MODEL" GGUF="$GGUF" THREADS="$THREADS" PP="$PP" TG="$TG" REPS="$REPS" FA="$FA" BATCH="$BATCH" \
BATCH_PROMPT="$BATCH_PROMPT" BUILD_DIR="$BUILD_DIR" LLAMA_CPP="$LLAMA_CPP" ISA_FLAGS="$isa_flags" MACROS="$macros" \
"$PY" - <<'EOF'
import json, os, re, subprocess
e = os.environ
rows = json.load(open(e["BENCH_JSON"]))
pp = next((r for r in rows if r["n_prompt"] > 0 and r["n_gen"] == 0), None)
tg = next((r for r in rows if r["n_gen"] > 0 and r["n_prompt"] == 0), None)
first = rows[0]
cache = {}
try:
    for line in open(os.path.join(e["BUILD_DIR"], "CMakeCache.txt")):
        m = re.match(r"^([A-Za-z0-9_]+):[A-Z]+=(.*)$", line.strip())
        if m:
            cache[m.group(1)] = m.group(2)
except OSError:
    pass
try:
    commit = subprocess.run(["git", "-C", e["LLAMA_CPP"], "rev-parse", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or None
except OSError:
    commit = None
macros = set(e["MACROS"].split())
feats = [n for n, m in (("AVX512F", "__AVX512F__"), ("AVX512BW", "__AVX512BW__"), ("AVX512VNNI", "__AVX512VNNI__"),
                        ("AVX512BF16", "__AVX512BF16__"), ("AVX512VBMI", "__AVX512VBMI__"), ("AVX2", "__AVX2__"),
                        ("AVX", "__AVX__"), ("FMA", "__FMA__"), ("F16C", "__F16C__"), ("AVXVNNI", "__AVXVNNI__"))
         if m in macros]
isa = "AVX512" if "AVX512F" in feats else "AVX2" if "AVX2" in feats else "AVX" if "AVX" in feats else \
    ("unknown" if not macros else "SSE")
out = {
    "peer": "llama.cpp",
    "model": e["MODEL"],
    "gguf": e["GGUF"],
    "model_type": first.get("model_type"),
    "threads": int(e["THREADS"]),
    "flash_attn": e["FA"] == "1",
    "pp": int(e["PP"]),
    "tg": int(e["TG"]),
    "reps": int(e["REPS"]),
    "pp_tok_s": round(pp["avg_ts"], 2) if pp else None,
    "pp_tok_s_stddev": round(pp["stddev_ts"], 2) if pp else None,
    "tg_tok_s": round(tg["avg_ts"], 2) if tg else None,
    "tg_tok_s_stddev": round(tg["stddev_ts"], 2) if tg else None,
}
if e["BATCH"]:
    rec = None
    for line in open(e["BATCHED_OUT"]):
        line = line.strip()
        if line.startswith("{"):
            rec = json.loads(line)
    if rec is None:
        raise SystemExit("llama_cpp_bench: error: no result line from llama-batched-bench")
    out["batch_decode"] = {
        "sequences": rec["pl"], "tokens": rec["tg"], "shared_prompt": rec["pp"],
        "s_tg_tok_s": round(rec["speed_tg"], 2), "t_tg_s": round(rec["t_tg"], 3),
        "s_pp_tok_s": round(rec["speed_pp"], 2), "n_kv_max": rec["n_kv_max"],
    }
out.update({
    "llama_cpp_commit": commit,
    "build_commit": first.get("build_commit"),
    "build_number": first.get("build_number"),
    "build_dir": e["BUILD_DIR"],
    "build_type": cache.get("CMAKE_BUILD_TYPE"),
    "isa": isa,
    "isa_features": feats,
    "ggml_cpu_isa_flags": e["ISA_FLAGS"].strip(),
    "ggml_native": cache.get("GGML_NATIVE"),
    "openmp": cache.get("GGML_OPENMP"),
    "llamafile_sgemm": cache.get("GGML_LLAMAFILE"),
    "blas": cache.get("GGML_BLAS"),
    "cpu": first.get("cpu_info"),
})
print(json.dumps(out))
EOF
