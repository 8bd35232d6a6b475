#!/usr/bin/python3
"""Independent reference for Tenet's DPO and SFT trainers on a PEFT LoRA adapter.

Written from TRL's DPOTrainer semantics (trl/trainer/dpo_trainer.py: concatenated_forward,
dpo_loss, get_batch_loss_metrics) with Debian's python3-torch only. Reuses the Llama forward and
safetensors codec of llama_reference.py (same folder); shares no code with the C++ implementation.

The policy is base + LoRA, unmerged and differentiable: each adapted weight is W + scale * (B @ A),
with A and B as leaf tensors (W frozen), scale = lora_alpha / r (lora_alpha / sqrt(r) with
use_rslora). The reference model is the base without the adapter, under no_grad. Every sequence
(prompt + completion) is run alone: batch of 1, no padding. Completion log-prob = sum over the
completion tokens t of log_softmax(logits[t - 1])[id_t].

Commands:
  dpo --model DIR --adapter DIR --pairs FILE --beta B --loss {sigmoid,hinge,ipo,robust}
      [--label-smoothing LS] [--rpo-alpha A] [--reference-free] --out OUT.json [--grads FILE]
                 DPO-family loss, TRL metrics and per-pair log-probs of
                 [{"prompt": [ids], "chosen": [ids], "rejected": [ids]}, ...];
                 --grads: d loss / d lora_A, lora_B (fp32, PEFT key names)
  sft --model DIR --adapter DIR --data FILE --out OUT.json [--grads FILE]
                 mean over all completion tokens of -log p, for [{"prompt": [...], "completion": [...]}]
  sft --model DIR --full --data FILE --out OUT.json [--grads FILE]
                 the same loss on the base model; --grads: d loss / d every weight (fp32, HF names;
                 a tied head's gradient is part of model.embed_tokens.weight's)
  merge --model DIR --adapter DIR --out FILE.safetensors
                 every weight of the model with W + scale * B @ A merged (float64, cast to the base dtype)
  self-test [--dir DIR]
                 checks this file on a tiny random model; exits non-zero on failure
dpo and sft also take --dtype {float32,float64} (default float32) for the forward pass.

Losses, on logits = (pi_c - pi_r) - (ref_c - ref_r) and z = beta * logits:
  sigmoid  DPO, Rafailov et al. 2023 (arXiv 2305.18290) with cDPO label smoothing ls
           (Mitchell 2023; Chowdhury et al. 2024, arXiv 2403.00409):
           -logsigmoid(z) * (1 - ls) - logsigmoid(-z) * ls
  robust   robust DPO, Chowdhury et al. 2024 (arXiv 2403.00409), eq. as in TRL:
           (-logsigmoid(z) * (1 - ls) + logsigmoid(-z) * ls) / (1 - 2 ls)
  hinge    SLiC, Zhao et al. 2023 (arXiv 2305.10425): relu(1 - z)
  ipo      IPO, Azar et al. 2023 (arXiv 2310.12036): (logits - 1 / (2 beta))^2, with
           length-averaged log-probs (sum / completion tokens) for policy and reference (as TRL)
  RPO      Pang et al. 2024 (arXiv 2404.19733): loss += rpo_alpha * NLL, NLL = mean over all chosen
           completion tokens of the batch of -log p (TRL adds it whenever rpo_alpha is not None)
"""
import argparse
import contextlib
import json
import math
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_reference as ref  # noqa: E402

F = torch.nn.functional
PREFIX = "base_model.model."
SIDES = ("chosen", "rejected")
LOSSES = ("sigmoid", "hinge", "ipo", "robust")


# ---------------------------------------------------------------- model pieces
@contextlib.contextmanager
def keep_float64(dtype):
    """ref.run upcasts with .float() (meant for bf16): leave float64 tensors in float64."""
    if dtype != torch.float64:
        yield
        return
    had, orig = "float" in torch.Tensor.__dict__, torch.Tensor.float
    torch.Tensor.float = lambda self, *a, **k: self if self.dtype == torch.float64 else orig(self, *a, **k)
    try:
        yield
    finally:
        if had:
            torch.Tensor.float = orig
        else:
            del torch.Tensor.float


def load_lora(adapter, dtype):
    """({module: (A (r, in), B (out, r))} as leaf tensors requiring grad, LoRA scale)."""
    acfg = json.load(open(os.path.join(adapter, "adapter_config.json")))
    aw = ref.st_read(os.path.join(adapter, "adapter_model.safetensors"))
    r, alpha = acfg["r"], acfg["lora_alpha"]
    scale = alpha / math.sqrt(r) if acfg.get("use_rslora") else alpha / r  # PEFT LoraLayer.update_layer
    lora = {}
    for k in sorted(aw):
        if k.endswith(".lora_A.weight"):
            mod = k[len(PREFIX):-len(".lora_A.weight")]
            B = aw[PREFIX + mod + ".lora_B.weight"]
            lora[mod] = (aw[k].to(dtype).requires_grad_(), B.to(dtype).requires_grad_())
    return lora, scale


def policy_weights(base, lora, scale):
    w = dict(base)
    for mod, (A, B) in lora.items():
        w[mod + ".weight"] = base[mod + ".weight"] + scale * (B @ A)
    return w


def completion_logps(cfg, w, prompt, completion, dtype):
    """(per-token completion log-probs (n,), the logits (n, V) that predicted them)."""
    assert len(prompt) >= 1 and len(completion) >= 1, "need a non-empty prompt and completion"
    ids = torch.tensor([list(prompt) + list(completion)], dtype=torch.long)
    with keep_float64(dtype):
        x = ref.run(cfg, w, ids, dtype, logits=False)[0]
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    logits = x[len(prompt) - 1:-1] @ head.t()  # row j predicts completion[j]
    tgt = torch.tensor(list(completion), dtype=torch.long)[:, None]
    return torch.log_softmax(logits, -1).gather(1, tgt)[:, 0], logits


def grads_dict(lora):
    out = {}
    for mod, (A, B) in lora.items():
        for name, t in (("lora_A", A), ("lora_B", B)):
            g = t.grad if t.grad is not None else torch.zeros_like(t)
            out["%s%s.%s.weight" % (PREFIX, mod, name)] = g.detach().float().contiguous()
    return out


# ---------------------------------------------------------------- losses
def dpo_losses(logits, beta, loss, ls=0.0):
    """Per-pair losses, TRL DPOTrainer.dpo_loss (formulas and sources in the module docstring)."""
    z = beta * logits
    if loss == "sigmoid":
        return -F.logsigmoid(z) * (1 - ls) - F.logsigmoid(-z) * ls
    if loss == "robust":
        return (-F.logsigmoid(z) * (1 - ls) + F.logsigmoid(-z) * ls) / (1 - 2 * ls)
    if loss == "hinge":
        return torch.relu(1 - z)
    if loss == "ipo":
        return (logits - 1 / (2 * beta)) ** 2
    raise ValueError(loss)


def dpo(cfg, base, lora, scale, pairs, beta, loss, ls=0.0, rpo_alpha=None, reference_free=False,
        dtype=torch.float32):
    """(loss tensor with grad to the LoRA leaves, JSON-ready result dict)."""
    w = policy_weights(base, lora, scale)
    pol = {s: [] for s in SIDES}   # summed policy log-probs (with grad)
    rfl = {s: [] for s in SIDES}   # summed reference log-probs
    ntok = {s: [] for s in SIDES}  # completion token counts
    lsum = {s: 0.0 for s in SIDES}  # sum over completion positions of the vocab-mean policy logit
    chosen_tok = []
    for p in pairs:
        for s in SIDES:
            lp, lg = completion_logps(cfg, w, p["prompt"], p[s], dtype)
            pol[s].append(lp.sum())
            ntok[s].append(len(p[s]))
            lsum[s] += lg.detach().double().mean(-1).sum().item()
            if s == "chosen":
                chosen_tok.append(lp)
            if reference_free:
                rfl[s].append(torch.zeros((), dtype=dtype))
            else:
                with torch.no_grad():
                    rfl[s].append(completion_logps(cfg, base, p["prompt"], p[s], dtype)[0].sum())
    pc, pr, rc, rr = (torch.stack(d[s]) for d in (pol, rfl) for s in SIDES)
    sum_pc, sum_pr = pc.detach(), pr.detach()
    if loss == "ipo":  # TRL concatenated_forward: all_logps / loss_mask.sum(-1) for IPO
        nc, nr = (torch.tensor(ntok[s], dtype=dtype) for s in SIDES)
        pc, pr, rc, rr = pc / nc, pr / nr, rc / nc, rr / nr
    logits = (pc - pr) - (rc - rr)
    per_pair = dpo_losses(logits, beta, loss, ls)
    total = per_pair.mean()
    metrics = {}
    if rpo_alpha is not None:  # RPO: token-level NLL over all chosen completion tokens
        nll = -torch.cat(chosen_tok).mean()
        total = total + rpo_alpha * nll
        metrics["nll_loss"] = nll.item()
    rw_c, rw_r = beta * (pc - rc).detach(), beta * (pr - rr).detach()
    metrics.update({
        "rewards/chosen": rw_c.mean().item(), "rewards/rejected": rw_r.mean().item(),
        "rewards/accuracies": (rw_c > rw_r).double().mean().item(),
        "rewards/margins": (rw_c - rw_r).mean().item(),
        "logps/chosen": sum_pc.mean().item(), "logps/rejected": sum_pr.mean().item(),
        "logits/chosen": lsum["chosen"] / sum(ntok["chosen"]),
        "logits/rejected": lsum["rejected"] / sum(ntok["rejected"]),
    })
    rows = [{"policy_chosen": sum_pc[i].item(), "policy_rejected": sum_pr[i].item(),
             "ref_chosen": rfl["chosen"][i].item(), "ref_rejected": rfl["rejected"][i].item(),
             "chosen_tokens": ntok["chosen"][i], "rejected_tokens": ntok["rejected"][i],
             "loss": per_pair[i].item()} for i in range(len(pairs))]
    return total, {"loss": total.item(), "metrics": metrics, "pairs": rows}


def sft(cfg, base, lora, scale, data, dtype=torch.float32):
    """(mean over all completion tokens of the batch of -log p, token count)."""
    w = policy_weights(base, lora, scale)
    lp = torch.cat([completion_logps(cfg, w, d["prompt"], d["completion"], dtype)[0] for d in data])
    return -lp.mean(), lp.numel()


# ---------------------------------------------------------------- self-test
def self_test(folder):
    fails = []

    def check(name, ok, detail=""):
        print("%-58s %s %s" % (name, "ok" if ok else "FAIL", detail))
        if not ok:
            fails.append(name)

    gen = torch.Generator().manual_seed(7)
    model, adapter, zero = (os.path.join(folder, n) for n in ("model", "adapter", "adapter_zero_b"))
    ref.random_model(model, gen, vocab=48, hidden=32, layers=2, heads=4, kv=2, inter=40)
    ref.random_adapter(adapter, model, gen, r=4, alpha=8, targets=("q_proj", "v_proj", "down_proj", "lm_head"))
    ref.random_adapter(zero, model, gen, r=4, alpha=8)
    aw = ref.st_read(os.path.join(zero, "adapter_model.safetensors"))
    ref.st_write(os.path.join(zero, "adapter_model.safetensors"),
                 {k: torch.zeros_like(v) if ".lora_B." in k else v for k, v in aw.items()})

    def rnd(n):
        return torch.randint(0, 48, (n,), generator=gen).tolist()
    pairs = [{"prompt": rnd(a), "chosen": rnd(b), "rejected": rnd(c)} for a, b, c in ((3, 4, 6), (1, 5, 2), (5, 1, 3))]
    beta = 0.1

    # (c) the loss formulas against hand-computed values (math only), logits = 0.5 and 30.
    sp = lambda x: math.log1p(math.exp(x))  # softplus = -logsigmoid(-x)
    for lg, ls in ((0.5, 0.1), (30.0, 0.0), (-2.0, 0.25)):
        z, t = beta * lg, torch.tensor([lg], dtype=torch.float64)
        want = {"sigmoid": sp(-z) * (1 - ls) + sp(z) * ls, "robust": (sp(-z) * (1 - ls) - sp(z) * ls) / (1 - 2 * ls),
                "hinge": max(0.0, 1 - z), "ipo": (lg - 1 / (2 * beta)) ** 2}
        for loss, v in want.items():
            got = dpo_losses(t, beta, loss, ls).item()
            check("(c) %s(logits=%g, beta=%g, ls=%g) = %.10g" % (loss, lg, beta, ls, v), abs(got - v) < 1e-12, "%.10g" % got)

    # (a) lora_B = 0: policy == reference, rewards 0, sigmoid = log 2, hinge = 1, ipo = (1/(2 beta))^2.
    cfg, base = ref.load(model, torch.float32)
    for loss, ls, want in (("sigmoid", 0.0, math.log(2)), ("sigmoid", 0.2, math.log(2)), ("robust", 0.2, math.log(2)),
                           ("hinge", 0.0, 1.0), ("ipo", 0.0, (1 / (2 * beta)) ** 2)):
        lora, scale = load_lora(zero, torch.float32)
        total, res = dpo(cfg, base, lora, scale, pairs, beta, loss, ls)
        total.backward()
        m = res["metrics"]
        same = all(r["policy_chosen"] == r["ref_chosen"] and r["policy_rejected"] == r["ref_rejected"] for r in res["pairs"])
        check("(a) zero B, %s ls=%g: policy == ref, rewards 0" % (loss, ls),
              same and m["rewards/chosen"] == 0 and m["rewards/rejected"] == 0 and m["rewards/accuracies"] == 0)
        check("(a) zero B, %s ls=%g: loss = %.8f" % (loss, ls, want), abs(res["loss"] - want) < 1e-6, "%.8f" % res["loss"])
        g = grads_dict(lora)
        ga = max(v.abs().max().item() for k, v in g.items() if ".lora_A." in k)
        gb = max(v.abs().max().item() for k, v in g.items() if ".lora_B." in k)
        check("(a) zero B, %s: dL/dA = 0, dL/dB != 0" % loss, ga == 0 and gb > 0)

    # Consistency: unmerged policy == ref.merge_adapter policy; RPO nll == sft loss on the chosen;
    # loss == mean of the per-pair rows rebuilt from their logps.
    cfg64, base64 = ref.load(model, torch.float64)
    lora, scale = load_lora(adapter, torch.float64)
    _, res = dpo(cfg64, base64, lora, scale, pairs, beta, "sigmoid", 0.0, 0.0, False, torch.float64)
    merged = ref.load(model, torch.float64, adapter)[1]
    lp = [completion_logps(cfg64, merged, p["prompt"], p["chosen"], torch.float64)[0].sum().item() for p in pairs]
    err = max(abs(a - r["policy_chosen"]) for a, r in zip(lp, res["pairs"]))
    check("unmerged policy logps == merged (float64)", err < 1e-9, "max err %.1e" % err)
    sl = sft(cfg64, base64, lora, scale, [{"prompt": p["prompt"], "completion": p["chosen"]} for p in pairs], torch.float64)[0]
    check("rpo nll_loss == sft loss on the chosen", abs(sl.item() - res["metrics"]["nll_loss"]) < 1e-12)
    re = [-math.log(1 / (1 + math.exp(-beta * (r["policy_chosen"] - r["policy_rejected"] - r["ref_chosen"] + r["ref_rejected"]))))
          for r in res["pairs"]]
    check("loss == mean of per-pair rows", abs(sum(re) / len(re) - res["loss"]) < 1e-12 and
          all(abs(a - r["loss"]) < 1e-12 for a, r in zip(re, res["pairs"])))

    # (b) autograd vs central finite differences in float64; fp32 autograd vs float64 autograd.
    cases = [("sigmoid", 0.0, None, False), ("sigmoid", 0.1, 0.5, False), ("robust", 0.2, None, False),
             ("hinge", 0.0, None, False), ("ipo", 0.0, 1.0, False), ("sigmoid", 0.0, None, True), ("sft", 0, None, False)]
    sft_data = [{"prompt": p["prompt"], "completion": p["chosen"]} for p in pairs]
    for loss, ls, rpo, rf in cases:
        def f(lora, scale, dtype):
            c, b = (cfg64, base64) if dtype == torch.float64 else (cfg, base)
            if loss == "sft":
                return sft(c, b, lora, scale, sft_data, dtype)[0]
            return dpo(c, b, lora, scale, pairs, beta, loss, ls, rpo, rf, dtype)[0]
        lora, scale = load_lora(adapter, torch.float64)
        f(lora, scale, torch.float64).backward()
        g64 = grads_dict(lora)
        l32, s32 = load_lora(adapter, torch.float32)
        f(l32, s32, torch.float32).backward()
        g32 = grads_dict(l32)
        rel = max(((g32[k] - g64[k]).abs().max() / g64[k].abs().max().clamp_min(1e-12)).item() for k in g64)
        tag = "%s ls=%g rpo=%s%s" % (loss, ls, rpo, " ref-free" if rf else "")
        check("(b) fp32 grads ~ float64 grads, " + tag, rel < 1e-3, "max rel %.1e" % rel)
        for mod, which, idx in (("model.layers.1.self_attn.v_proj", 1, (3, 2)), ("model.layers.0.mlp.down_proj", 1, (5, 1)),
                                ("lm_head", 1, (7, 0)), ("model.layers.0.self_attn.q_proj", 0, (1, 4))):
            t, h = lora[mod][which], 1e-5
            with torch.no_grad():
                v = t[idx].item()
                t[idx] = v + h
                up = f(lora, scale, torch.float64).item()
                t[idx] = v - h
                dn = f(lora, scale, torch.float64).item()
                t[idx] = v
            fd, ad = (up - dn) / (2 * h), t.grad[idx].item()
            check("(b) FD %s %s%s, %s" % (mod.split(".")[-1], "AB"[which], idx, tag),
                  abs(fd - ad) <= 1e-6 + 1e-5 * abs(fd), "fd %.9f autograd %.9f" % (fd, ad))
    print("self-test: %d failure(s)" % len(fails))
    return 1 if fails else 0


# ---------------------------------------------------------------- CLI
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dpo")
    d.add_argument("--pairs", required=True, help='JSON: [{"prompt": [...], "chosen": [...], "rejected": [...]}]')
    d.add_argument("--beta", type=float, required=True)
    d.add_argument("--loss", choices=LOSSES, required=True)
    d.add_argument("--label-smoothing", type=float, default=0.0)
    d.add_argument("--rpo-alpha", type=float, default=None)
    d.add_argument("--reference-free", action="store_true")
    s = sub.add_parser("sft")
    s.add_argument("--data", required=True, help='JSON: [{"prompt": [...], "completion": [...]}]')
    s.add_argument("--full", action="store_true", help="gradients of every base weight (no adapter)")
    for p in (d, s):
        p.add_argument("--grads", help="safetensors out: d loss / d lora_A, lora_B (fp32, PEFT names)")
    m = sub.add_parser("merge")
    for p in (d, s, m):
        p.add_argument("--model", required=True)
        p.add_argument("--adapter", required=p is not s)
        p.add_argument("--out", required=True)
    for p in (d, s):
        p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    t = sub.add_parser("self-test")
    t.add_argument("--dir", help="work folder (default: a temporary one)")
    args = ap.parse_args()
    torch.set_num_threads(1)  # tiny models: one thread is enough and keeps the machine free
    if args.cmd == "self-test":
        if args.dir:
            os.makedirs(args.dir, exist_ok=True)
            return self_test(args.dir)
        with tempfile.TemporaryDirectory() as tmp:
            return self_test(tmp)
    if args.cmd == "merge":  # float64 merge, cast back to the model's dtype
        w = ref.load_weights(args.model)
        ref.st_write(args.out, ref.merge_adapter(w, args.adapter, w["model.embed_tokens.weight"].dtype))
        return 0
    dtype = getattr(torch, args.dtype)
    cfg, base = ref.load(args.model, dtype)
    if args.cmd == "sft" and args.full:  # full fine-tuning: every base weight is a leaf
        if args.adapter:
            ap.error("sft --full takes no --adapter")
        base = {k: v.detach().clone().requires_grad_() for k, v in base.items()}
        total, n = sft(cfg, base, {}, 1.0, json.load(open(args.data)), dtype)
        if args.grads:
            total.backward()
            ref.st_write(args.grads, {k: (v.grad if v.grad is not None else torch.zeros_like(v)).detach().float().contiguous()
                                      for k, v in base.items()})
        json.dump({"loss": total.item(), "tokens": n}, open(args.out, "w"), indent=1)
        return 0
    if not args.adapter:
        ap.error("--adapter is required")
    lora, scale = load_lora(args.adapter, dtype)
    if args.cmd == "dpo":
        total, res = dpo(cfg, base, lora, scale, json.load(open(args.pairs)), args.beta, args.loss,
                         args.label_smoothing, args.rpo_alpha, args.reference_free, dtype)
    else:
        total, n = sft(cfg, base, lora, scale, json.load(open(args.data)), dtype)
        res = {"loss": total.item(), "tokens": n}
    if args.grads:
        total.backward()
        ref.st_write(args.grads, grads_dict(lora))
    json.dump(res, open(args.out, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
