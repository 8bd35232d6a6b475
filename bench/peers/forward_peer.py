#!/usr/bin/python3
"""Peer baseline for bench/forward_bench: an eager PyTorch Llama forward (Debian's python3-torch),
the Hugging Face eager-attention recipe as tests/reference/llama_reference.py implements it
(repeat_interleave GQA, fp32 softmax, full (B, T, V) logits), timed on the same model folder,
shapes, dtype and thread count. Prints one JSON object.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
import llama_reference as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dtype", default="bfloat16", choices=["float32", "bfloat16"])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[a.dtype]
    cfg, w = ref.load(a.model, dtype)
    ids = torch.randint(0, cfg["vocab_size"], (a.batch, a.seq), generator=torch.Generator().manual_seed(0))
    out = {}
    with torch.no_grad():
        for mode, logits in (("hidden", False), ("logits", True)):
            ref.run(cfg, w, ids[:, :16], dtype, logits)  # warm-up
            times = []
            for _ in range(a.reps):
                t = time.perf_counter()
                ref.run(cfg, w, ids, dtype, logits)
                times.append(time.perf_counter() - t)
            out[mode + "_tokens_per_s"] = a.batch * a.seq / sorted(times)[len(times) // 2]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
