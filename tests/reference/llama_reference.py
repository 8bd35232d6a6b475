#!/usr/bin/python3
"""Independent reference for Tenet's Llama forward pass, safetensors and PEFT LoRA.

Written from Hugging Face transformers' modeling_llama.py semantics with Debian's python3-torch
only (no transformers, no safetensors package): its own safetensors reader/writer, its own
Llama forward (GQA by repeat_interleave, -inf causal masks, rotate-half RoPE with llama3
scaling), its own LoRA merge. Shares no code with the C++ implementation.

Commands:
  make-fixtures --out DIR    random tiny models (variants below) + inputs + expected logits
  make-adapter --model DIR --out DIR
                             a random PEFT LoRA adapter (q_proj, v_proj, down_proj) for a model
  logits --model DIR --ids JSON --out FILE [--adapter DIR]
                             logits (B, T, V) fp32 of a model folder written by anyone
  generate --model DIR --prompts JSON --max-new N --out FILE
                             greedy continuations, recomputed from scratch each step
  logprobs --model DIR --data JSON --out FILE [--adapter DIR]
                             sums of completion log-probs for [{"ids": [...], "prompt_len": n}]
"""
import argparse
import json
import math
import os
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16, "F64": torch.float64,
          "I64": torch.int64, "I32": torch.int32}
NAMES = {v: k for k, v in DTYPES.items()}


# ---------------------------------------------------------------- safetensors (own codec)
def st_read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    base = 8 + n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        dt = DTYPES[info["dtype"]]
        raw = bytearray(data[base + b:base + e])
        t = torch.frombuffer(raw, dtype=dt) if len(raw) else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def st_write(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load_weights(folder):
    idx = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(idx):
        files = sorted(set(json.load(open(idx))["weight_map"].values()))
        w = {}
        for f in files:
            w.update(st_read(os.path.join(folder, f)))
        return w
    return st_read(os.path.join(folder, "model.safetensors"))


def save_weights(folder, w, shards=1):
    os.makedirs(folder, exist_ok=True)
    names = sorted(w)
    if shards == 1:
        st_write(os.path.join(folder, "model.safetensors"), w)
        return
    per = math.ceil(len(names) / shards)
    wmap = {}
    for i in range(shards):
        part = names[i * per:(i + 1) * per]
        fname = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
        st_write(os.path.join(folder, fname), {n: w[n] for n in part})
        wmap.update({n: fname for n in part})
    json.dump({"metadata": {"total_size": 0}, "weight_map": wmap}, open(os.path.join(folder, "model.safetensors.index.json"), "w"))


# ---------------------------------------------------------------- model
def rope_params(cfg):
    """(theta, scaling dict or None) from rope_scaling or transformers-5 rope_parameters."""
    theta = cfg.get("rope_theta", 10000.0)
    scaling = cfg.get("rope_scaling")
    rp = cfg.get("rope_parameters")
    if rp:
        theta = rp.get("rope_theta", theta)
        scaling = rp
    if scaling and scaling.get("rope_type", scaling.get("type", "default")) == "default":
        scaling = None
    return theta, scaling


def inv_freqs(cfg, head_dim):
    theta, sc = rope_params(cfg)
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    if sc is None:
        return inv
    kind = sc.get("rope_type", sc.get("type"))
    if kind == "linear":
        return inv / sc["factor"]
    assert kind == "llama3", kind
    factor, lo, hi, old = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"], sc["original_max_position_embeddings"]
    out = []
    for f in inv.tolist():  # element by element, unlike the C++ (vectorized where())
        wavelen = 2 * math.pi / f
        if wavelen < old / hi:
            out.append(f)
        elif wavelen > old / lo:
            out.append(f / factor)
        else:
            s = (old / wavelen - lo) / (hi - lo)
            out.append((1 - s) * f / factor + s * f)
    return torch.tensor(out, dtype=torch.float32)


def rms(x, w, eps):
    dt = x.dtype
    h = x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return w * h.to(dt)


def rotate(x, cos, sin):
    d = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., d:], x[..., :d]], -1) * sin


def merge_adapter(w, adapter_dir, dtype):
    cfg = json.load(open(os.path.join(adapter_dir, "adapter_config.json")))
    aw = st_read(os.path.join(adapter_dir, "adapter_model.safetensors"))
    r, alpha = cfg["r"], cfg["lora_alpha"]
    scale = alpha / math.sqrt(r) if cfg.get("use_rslora") else alpha / r
    for k in aw:
        if not k.endswith(".lora_A.weight"):
            continue
        mod = k[len("base_model.model."):-len(".lora_A.weight")]
        A = aw[k].double()
        B = aw[k.replace("lora_A", "lora_B")].double()
        w[mod + ".weight"] = (w[mod + ".weight"].double() + scale * (B @ A)).to(dtype)
    return w


def load(folder, dtype=torch.float32, adapter=None):
    """(config dict, weights dict in `dtype`, with the adapter merged when given)."""
    cfg = json.load(open(os.path.join(folder, "config.json")))
    w = {k: v.to(dtype) for k, v in load_weights(folder).items()}
    if adapter:
        w = merge_adapter(w, adapter, dtype)
    return cfg, w


def forward(folder, ids, dtype=torch.float32, adapter=None):
    """ids: LongTensor (B, T) -> logits (B, T, V) float32."""
    cfg, w = load(folder, dtype, adapter)
    return run(cfg, w, ids, dtype)


def run(cfg, w, ids, dtype, logits=True):
    """The forward pass over loaded weights: logits (B, T, V) float32, or final hidden states."""
    H, K = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    C = cfg["hidden_size"]
    D = cfg.get("head_dim") or C // H
    eps = cfg.get("rms_norm_eps", 1e-6)
    B, T = ids.shape
    pos = torch.arange(T).float()
    freqs = torch.outer(pos, inv_freqs(cfg, D))
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
    mask = torch.full((T, T), float("-inf")).triu(1)
    x = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i

        def lin(name, inp):
            b = w.get(p + name + ".bias")
            y = inp @ w[p + name + ".weight"].t()
            return y + b if b is not None else y

        h = rms(x, w[p + "input_layernorm.weight"], eps)
        q = lin("self_attn.q_proj", h).view(B, T, H, D).transpose(1, 2)
        k = lin("self_attn.k_proj", h).view(B, T, K, D).transpose(1, 2)
        v = lin("self_attn.v_proj", h).view(B, T, K, D).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        k = k.repeat_interleave(H // K, dim=1)
        v = v.repeat_interleave(H // K, dim=1)
        att = (q @ k.transpose(-1, -2)) * (D ** -0.5) + mask.to(dtype)
        att = torch.softmax(att.float(), -1).to(dtype)
        o = (att @ v).transpose(1, 2).reshape(B, T, H * D)
        x = x + lin("self_attn.o_proj", o)
        h = rms(x, w[p + "post_attention_layernorm.weight"], eps)
        x = x + lin("mlp.down_proj", torch.nn.functional.silu(lin("mlp.gate_proj", h)) * lin("mlp.up_proj", h))
    x = rms(x, w["model.norm.weight"], eps)
    if not logits:
        return x
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return (x @ head.t()).float()


# ---------------------------------------------------------------- fixtures
def random_model(folder, gen, *, vocab=320, hidden=64, layers=2, heads=4, kv=2, inter=160, tied=False, dtype=torch.float32,
                 shards=1, rope="llama3", rope_key="rope_scaling", arch="LlamaForCausalLM", head_dim=None):
    D = head_dim or hidden // heads
    cfg = {"architectures": [arch], "model_type": {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2"}[arch],
           "vocab_size": vocab, "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
           "num_attention_heads": heads, "num_key_value_heads": kv, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
           "max_position_embeddings": 4096, "hidden_act": "silu", "tie_word_embeddings": tied,
           "torch_dtype": {torch.float32: "float32", torch.bfloat16: "bfloat16"}[dtype]}
    if head_dim:
        cfg["head_dim"] = head_dim
    if rope == "llama3":
        # Small original context so that the interpolation band covers this tiny head_dim.
        sc = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 64}
        if rope_key == "rope_parameters":
            sc["rope_theta"] = 500000.0
            del cfg["rope_theta"]
        cfg[rope_key] = sc
    elif rope == "linear":
        cfg["rope_scaling"] = {"type": "linear", "factor": 2.0}

    def rnd(*shape):
        return torch.randn(*shape, generator=gen) * 0.2

    w = {"model.embed_tokens.weight": rnd(vocab, hidden), "model.norm.weight": 1 + 0.1 * rnd(hidden)}
    for i in range(layers):
        p = "model.layers.%d." % i
        w[p + "input_layernorm.weight"] = 1 + 0.1 * rnd(hidden)
        w[p + "post_attention_layernorm.weight"] = 1 + 0.1 * rnd(hidden)
        w[p + "self_attn.q_proj.weight"] = rnd(heads * D, hidden)
        w[p + "self_attn.k_proj.weight"] = rnd(kv * D, hidden)
        w[p + "self_attn.v_proj.weight"] = rnd(kv * D, hidden)
        w[p + "self_attn.o_proj.weight"] = rnd(hidden, heads * D)
        if arch == "Qwen2ForCausalLM":
            for n, o in (("q", heads * D), ("k", kv * D), ("v", kv * D)):
                w[p + "self_attn.%s_proj.bias" % n] = rnd(o)
        w[p + "mlp.gate_proj.weight"] = rnd(inter, hidden)
        w[p + "mlp.up_proj.weight"] = rnd(inter, hidden)
        w[p + "mlp.down_proj.weight"] = rnd(hidden, inter)
    if not tied:
        w["lm_head.weight"] = rnd(vocab, hidden)
    w = {k: v.to(dtype) for k, v in w.items()}
    save_weights(folder, w, shards)
    json.dump(cfg, open(os.path.join(folder, "config.json"), "w"), indent=2)


def random_adapter(folder, model_dir, gen, r=4, alpha=8, targets=("q_proj", "v_proj", "down_proj"), rslora=False):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    w = load_weights(model_dir)
    os.makedirs(folder, exist_ok=True)
    aw = {}
    for name, t in w.items():
        mod = name[:-len(".weight")]
        if name.endswith(".weight") and mod.split(".")[-1] in targets:
            out_f, in_f = t.shape
            aw["base_model.model.%s.lora_A.weight" % mod] = torch.randn(r, in_f, generator=gen) * 0.3
            aw["base_model.model.%s.lora_B.weight" % mod] = torch.randn(out_f, r, generator=gen) * 0.3
    st_write(os.path.join(folder, "adapter_model.safetensors"), aw)
    json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.0,
               "target_modules": list(targets), "bias": "none", "use_rslora": rslora, "fan_in_fan_out": False,
               "base_model_name_or_path": model_dir, "inference_mode": True},
              open(os.path.join(folder, "adapter_config.json"), "w"), indent=2)
    _ = cfg


VARIANTS = {
    # name: kwargs for random_model
    "untied_llama3_f32": dict(),
    "tied_sharded_f32": dict(tied=True, shards=3, rope="none"),
    "bf16_rope_parameters": dict(dtype=torch.bfloat16, rope_key="rope_parameters"),
    "linear_rope_headdim": dict(rope="linear", head_dim=8, heads=4, kv=1),
    "qwen2_bias_mha": dict(arch="Qwen2ForCausalLM", kv=4, rope="none"),
}


def make_fixtures(out):
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    ids = torch.randint(0, 320, (2, 37), generator=gen)
    manifest = {"ids": ids.tolist(), "variants": []}
    for name, kw in VARIANTS.items():
        folder = os.path.join(out, name)
        random_model(folder, gen, **kw)
        expected = {"logits_f32": forward(folder, ids, torch.float32)}
        if kw.get("dtype") == torch.bfloat16:
            expected["logits_bf16"] = forward(folder, ids, torch.bfloat16)
        st_write(os.path.join(out, name + ".expected.safetensors"), expected)
        manifest["variants"].append(name)
    # A PEFT adapter on the first variant: expected logits of base + merged adapter.
    base = os.path.join(out, "untied_llama3_f32")
    for aname, kw in {"adapter": {}, "adapter_rslora": {"rslora": True, "r": 8, "alpha": 4}}.items():
        adir = os.path.join(out, aname)
        random_adapter(adir, base, gen, **kw)
        st_write(os.path.join(out, aname + ".expected.safetensors"),
                 {"logits_f32": forward(base, ids, torch.float32, adapter=adir)})
    json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("make-fixtures")
    a.add_argument("--out", required=True)
    b = sub.add_parser("logits")
    b.add_argument("--model", required=True)
    b.add_argument("--ids", required=True, help="JSON list of equal-length id lists")
    b.add_argument("--out", required=True)
    b.add_argument("--adapter")
    m = sub.add_parser("make-adapter")
    m.add_argument("--model", required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=0)
    g = sub.add_parser("generate")
    g.add_argument("--model", required=True)
    g.add_argument("--prompts", required=True, help="JSON list of prompt id lists")
    g.add_argument("--max-new", type=int, required=True)
    g.add_argument("--out", required=True)
    c = sub.add_parser("logprobs")
    c.add_argument("--model", required=True)
    c.add_argument("--data", required=True, help='JSON file: [{"ids": [...], "prompt_len": n}, ...]')
    c.add_argument("--out", required=True)
    c.add_argument("--adapter")
    c.add_argument("--top", type=int, default=0, help="also the K most likely tokens at each position")
    args = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if args.cmd == "make-fixtures":
        make_fixtures(args.out)
    elif args.cmd == "make-adapter":
        random_adapter(args.out, args.model, torch.Generator().manual_seed(args.seed))
    elif args.cmd == "generate":
        # Greedy decoding by full recomputation each step (no KV cache): an independent check of
        # cached, batched decoding.
        cfg, w = load(args.model, torch.float32)
        out = []
        with torch.no_grad():
            for prompt in json.loads(args.prompts):
                ids = list(prompt)
                for _ in range(args.max_new):
                    logits = run(cfg, w, torch.tensor([ids], dtype=torch.long), torch.float32)[0, -1]
                    ids.append(int(torch.argmax(logits)))
                out.append(ids[len(prompt):])
        json.dump(out, open(args.out, "w"))
    elif args.cmd == "logits":
        ids = torch.tensor(json.loads(args.ids), dtype=torch.long)
        st_write(args.out, {"logits": forward(args.model, ids, torch.float32, args.adapter)})
    else:
        recs = json.load(open(args.data))
        out = []
        for r in recs:
            ids = torch.tensor([r["ids"]], dtype=torch.long)
            logp = torch.log_softmax(forward(args.model, ids, torch.float32, args.adapter).double(), -1)[0]
            n = r["prompt_len"]
            tgt = ids[0, n:]
            per = logp[n - 1:-1].gather(1, tgt[:, None])[:, 0]
            rec = {"logp": per.sum().item(), "tokens": len(tgt), "per_token": per.tolist()}
            if args.top:
                v, i = torch.topk(logp[n - 1:-1], args.top, dim=-1)
                rec["top"] = [[[int(a), float(b)] for a, b in zip(ii, vv)] for ii, vv in zip(i.tolist(), v.tolist())]
            out.append(rec)
        json.dump(out, open(args.out, "w"))


if __name__ == "__main__":
    sys.exit(main())
