#!/usr/bin/python3
"""Independent reference for Tenet's top-p and min-p units (src/generate/sampler_units.cpp).

Replicates the __call__ bodies of Hugging Face transformers' TopPLogitsWarper and
MinPLogitsWarper (src/transformers/generation/logits_process.py, min_tokens_to_keep=1) with
Debian's python3-torch only, in float32 as transformers runs them on float32 logits. Shares no
code with the C++ implementation.

Usage: sampling_reference.py ROWS
  ROWS: one case per line, "top_p min_p l0 l1 ... l(V-1)".
  Prints one line per case: the ids kept by top-p, "|", the ids kept by min-p (ascending).
"""
import sys

import torch


def top_p_warper(scores, top_p, min_tokens_to_keep=1):
    sorted_logits, sorted_indices = torch.sort(scores, descending=False)
    cumulative_probs = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    # Remove tokens with cumulative top_p above the threshold (token with 0 are kept)
    sorted_indices_to_remove = cumulative_probs <= (1 - top_p)
    sorted_indices_to_remove[..., -min_tokens_to_keep:] = 0
    indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices, sorted_indices_to_remove)
    return scores.masked_fill(indices_to_remove, -float("inf"))


def min_p_warper(scores, min_p, min_tokens_to_keep=1):
    probs = torch.softmax(scores, dim=-1)
    top_probs = probs.amax(dim=-1, keepdim=True)
    scaled_min_p = min_p * top_probs
    tokens_to_remove = probs < scaled_min_p
    k = min(min_tokens_to_keep, probs.shape[-1])
    sorted_indices = torch.topk(probs, k, dim=-1).indices
    tokens_to_remove.scatter_(-1, sorted_indices, False)
    return scores.masked_fill(tokens_to_remove, -float("inf"))


def kept(scores):
    return " ".join(str(i) for i in torch.nonzero(scores[0] != -float("inf")).flatten().tolist())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        for line in f:
            if not line.strip():
                continue
            fields = line.split()
            top_p, min_p = float(fields[0]), float(fields[1])
            scores = torch.tensor([float(x) for x in fields[2:]], dtype=torch.float32).unsqueeze(0)
            print(kept(top_p_warper(scores, top_p)) + "|" + kept(min_p_warper(scores, min_p)))


if __name__ == "__main__":
    main()
