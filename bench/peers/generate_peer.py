#!/usr/bin/python3
"""Peer baseline for bench/generate_bench: the generation loop an engineer writes in eager PyTorch
(Debian's python3-torch), like HF generate(num_return_sequences=N): per question, one prefill of the
prompt, the KV cache expanded to N samples, then one decode step at a time for the N samples with a
growing torch.cat KV cache, temperature sampling with torch.multinomial. Same model folder, dtype,
threads, prompts and token counts as the C++ benchmark. Prints one JSON object.
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
import llama_reference as ref  # noqa: E402


def layer_step(cfg, w, i, x, cos, sin, past, mask):
    """One decoder layer with a KV cache: x (B, T, C); past = (k, v) (B, K, S, D) or None."""
    H, K = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    C = cfg["hidden_size"]
    D = cfg.get("head_dim") or C // H
    p = "model.layers.%d." % i
    B, T, _ = x.shape
    h = ref.rms(x, w[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
    q = (h @ w[p + "self_attn.q_proj.weight"].t()).view(B, T, H, D).transpose(1, 2)
    k = (h @ w[p + "self_attn.k_proj.weight"].t()).view(B, T, K, D).transpose(1, 2)
    v = (h @ w[p + "self_attn.v_proj.weight"].t()).view(B, T, K, D).transpose(1, 2)
    q, k = ref.rotate(q, cos, sin), ref.rotate(k, cos, sin)
    if past is not None:
        k = torch.cat([past[0], k], 2)
        v = torch.cat([past[1], v], 2)
    new_past = (k, v)
    k = k.repeat_interleave(H // K, 1)
    v = v.repeat_interleave(H // K, 1)
    att = (q @ k.transpose(-1, -2)) * (D ** -0.5)
    if mask is not None:
        att = att + mask
    att = torch.softmax(att.float(), -1).to(x.dtype)
    o = (att @ v).transpose(1, 2).reshape(B, T, H * D)
    x = x + o @ w[p + "self_attn.o_proj.weight"].t()
    h = ref.rms(x, w[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
    g = h @ w[p + "mlp.gate_proj.weight"].t()
    u = h @ w[p + "mlp.up_proj.weight"].t()
    return x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].t(), new_past


def forward(cfg, w, ids, start, past, dtype):
    B, T = ids.shape
    D = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    freqs = torch.outer(torch.arange(start, start + T).float(), ref.inv_freqs(cfg, D))
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    mask = torch.full((T, T), float("-inf")).triu(1).to(dtype) if T > 1 else None
    x = w["model.embed_tokens.weight"][ids]
    new = []
    for i in range(cfg["num_hidden_layers"]):
        x, kv = layer_step(cfg, w, i, x, cos, sin, past[i] if past else None, mask)
        new.append(kv)
    x = ref.rms(x[:, -1], w["model.norm.weight"], cfg["rms_norm_eps"])
    return (x @ w["lm_head.weight"].t()).float(), new


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", required=True, help="JSON file: list of prompt id lists")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="bfloat16")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[a.dtype]
    cfg, w = ref.load(a.model, dtype)
    prompts = json.load(open(a.prompts))
    gen = torch.Generator().manual_seed(0)
    prefill_t = decode_t = 0.0
    prefill_tok = decode_tok = 0
    with torch.no_grad():
        for prompt in prompts:
            t = time.perf_counter()
            logits, past = forward(cfg, w, torch.tensor([prompt]), 0, None, dtype)
            prefill_t += time.perf_counter() - t
            prefill_tok += len(prompt)
            t = time.perf_counter()
            past = [(k.expand(a.samples, -1, -1, -1).contiguous(), v.expand(a.samples, -1, -1, -1).contiguous()) for k, v in past]
            logits = logits.expand(a.samples, -1)
            pos = len(prompt)
            for _ in range(a.new):
                nxt = torch.multinomial(torch.softmax(logits, -1), 1, generator=gen)  # (N, 1)
                logits, past = forward(cfg, w, nxt, pos, past, dtype)
                pos += 1
            decode_t += time.perf_counter() - t
            decode_tok += a.samples * a.new
    print(json.dumps({"prefill_tokens_per_s": prefill_tok / prefill_t, "decode_tokens_per_s": decode_tok / decode_t}))


if __name__ == "__main__":
    main()
