#!/usr/bin/python3
"""Peer baseline for the DPO training benchmark: one DPO step with LoRA as TRL's DPOTrainer + PEFT runs
it, written in eager PyTorch with Debian's python3-torch only (no transformers, trl or peft).

What an engineer gets from DPOTrainer(model, ref_model=None, peft_config=LoraConfig(r, alpha,
target_modules="all-linear"), loss_type="sigmoid", beta=0.1), no gradient checkpointing:
  * the Hugging Face Llama forward with eager attention (repeat_kv GQA, additive -inf causal mask,
    fp32 softmax), base weights frozen in --dtype;
  * PEFT LoRA on q,k,v,o,gate,up,down of every decoder layer: A (r, in) Kaiming-uniform(a=sqrt(5)),
    B (out, r) zeros, scale alpha/r, adapter weights fp32 (PEFT's autocast_adapter_dtype); the input is
    cast to fp32 for the adapter path, and the sum is cast back to the base dtype, as
    peft.tuners.lora.Linear.forward does;
  * concatenated_forward: chosen and rejected prompt+completion sequences stacked into one (2P, T)
    batch with an attention mask and a loss mask over the completion, one policy forward giving the
    full (2P, T, V) logits (upcast to fp32 like LlamaForCausalLM did), log_softmax + gather of the
    completion labels, summed per sequence (--logps selective: TRL >= 0.14's variant instead, logits
    in the model dtype and selective_log_softmax);
  * the reference log-probs: the same concatenated batch with the adapters disabled, under no_grad;
  * the sigmoid DPO loss, backward, clip_grad_norm_ (HF Trainer's max_grad_norm=1.0 default),
    AdamW(lr=5e-6, weight_decay=0 as HF Trainer) over the LoRA parameters, zero_grad.
Synthetic data: seeded random token ids of exactly --prompt-len / --completion-len. Prints one JSON
object with the throughput, peak RSS (peak_rss_mib: the whole process, weights loading included;
steps_peak_rss_mib: the training steps alone, after resetting the kernel's mark), each measured
step's seconds (step_seconds) and the FLOPs of
the necessary work of one step (necessary_flops, which the C++ benchmark mirrors).
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference"))
import llama_reference as ref  # noqa: E402

TARGETS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
           "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


def dims(cfg):
    H = cfg["num_attention_heads"]
    K = cfg.get("num_key_value_heads", H)
    C = cfg["hidden_size"]
    D = cfg.get("head_dim") or C // H
    return C, H, K, D, cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]


def necessary_flops(cfg, pairs, prompt_len, completion_len, r):
    """FLOPs of the necessary work of one DPO+LoRA step (policy forward + backward, reference forward).

    Counts matrix products only (2 FLOPs per multiply-add); norms, RoPE, softmax, SiLU, log_softmax,
    the loss and the AdamW update over the LoRA parameters are left out. With
      C hidden, H heads, K kv heads, D head dim, I intermediate, V vocab, L layers,
      Lp = prompt_len, Lc = completion_len, P = pairs,
      base = sum of in*out over the 7 linears of a layer = C*H*D + 2*C*K*D + H*D*C + 3*C*I,
      lora = sum of r*(in+out) over the same 7 linears,
      base_kv, lora_kv: the same sums over k_proj and v_proj only,
    prefix sharing (chosen and rejected share the prompt's forward, so the prompt counts once):
      tokens = P * (Lp + 2*Lc)
      att    = 4 * H*D * P * (Lp*Lp + 2*Lc*(Lp + Lc))
               (per layer: QK^T and PV, 2*H*D FLOPs each per query-key pair; the prompt's Lp
               queries see Lp keys, each completion's Lc queries see Lp+Lc keys; the causal half is
               not subtracted, so without prefix sharing this is the usual 2*2*T^2*C per sequence)
      head   = 2*C*V * P * 2*Lc
               (lm_head only at the positions whose logits score a completion token: 2*Lc per pair)
    and in the last layer only keys and values are needed at the prompt positions but the last
    (whose output predicts the first completion token): queries, attention, o_proj and the MLP run
    for tokens_out = P * (2*Lc + 1) positions,
      last = 2*(base_kv + lora_kv)*tokens + 2*(base - base_kv + lora - lora_kv)*tokens_out + att_out,
      att_out = 4 * H*D * P * (Lp + 2*Lc*(Lp + Lc))
    (lora terms dropped for the reference). The step is
      policy forward  = (L-1) * (2*(base + lora)*tokens + att) + last + head
      policy backward = (L-1) * (2*(base + lora)*tokens + 2*lora*tokens + 2*att)     input gradients
                        + last + (its LoRA weight gradients) + 2*att_out + head       through base +
                        (frozen base weights and lm_head need no weight gradient;     LoRA; dA, dB;
                        attention: dP, dV, dQ, dK, 4 products, all input gradients)   lm_head: dX only
      reference fwd   = (L-1) * (2*base*tokens + att) + last (without LoRA) + head
      flops = policy forward + policy backward + reference forward
    """
    C, H, K, D, I, V, L = dims(cfg)
    lin = [(C, H * D), (C, K * D), (C, K * D), (H * D, C), (C, I), (C, I), (I, C)]  # (in, out)
    base = sum(i * o for i, o in lin)
    lora = sum(r * (i + o) for i, o in lin)
    base_kv = sum(i * o for i, o in lin[1:3])
    lora_kv = sum(r * (i + o) for i, o in lin[1:3])
    tokens = pairs * (prompt_len + 2 * completion_len)
    tokens_out = pairs * (2 * completion_len + 1)
    att = 4 * H * D * pairs * (prompt_len * prompt_len + 2 * completion_len * (prompt_len + completion_len))
    att_out = 4 * H * D * pairs * (prompt_len + 2 * completion_len * (prompt_len + completion_len))
    head = 2 * C * V * pairs * 2 * completion_len

    def linears(b, b_kv):  # the last layer's linear products over the positions each one needs
        return 2 * b_kv * tokens + 2 * (b - b_kv) * tokens_out

    policy_fwd = (L - 1) * (2 * (base + lora) * tokens + att) + linears(base + lora, base_kv + lora_kv) + att_out + head
    policy_bwd = ((L - 1) * (2 * (base + lora) * tokens + 2 * lora * tokens + 2 * att)
                  + linears(base + lora, base_kv + lora_kv) + linears(lora, lora_kv) + 2 * att_out + head)
    ref_fwd = (L - 1) * (2 * base * tokens + att) + linears(base, base_kv) + att_out + head
    return policy_fwd + policy_bwd + ref_fwd


class LoraLlama:
    """Frozen Llama weights (dict from ref.load) + PEFT-style LoRA adapters on all decoder linears."""

    def __init__(self, cfg, w, dtype, r, alpha):
        self.cfg, self.w, self.dtype = cfg, w, dtype
        self.scale = alpha / r
        self.adapters_enabled = True
        self.lora = {}
        for i in range(cfg["num_hidden_layers"]):
            for t in TARGETS:
                name = "model.layers.%d.%s" % (i, t)
                out_f, in_f = w[name + ".weight"].shape
                a = torch.empty(r, in_f, dtype=torch.float32)
                torch.nn.init.kaiming_uniform_(a, a=math.sqrt(5))  # PEFT reset_lora_parameters
                b = torch.zeros(out_f, r, dtype=torch.float32)
                self.lora[name] = (a.requires_grad_(), b.requires_grad_())
        self.inv = ref.inv_freqs(cfg, dims(cfg)[3])

    def parameters(self):
        return [p for ab in self.lora.values() for p in ab]

    def linear(self, name, x):
        y = x @ self.w[name + ".weight"].t()
        if not self.adapters_enabled:
            return y
        a, b = self.lora[name]
        # peft.tuners.lora.Linear: result + lora_B(lora_A(x.to(fp32))) * scaling, cast to result dtype
        return (y + (x.float() @ a.t() @ b.t()) * self.scale).to(y.dtype)

    def __call__(self, ids, attention_mask, upcast=True):
        """ids (B, T), attention_mask (B, T) of 0/1 -> logits (B, T, V), float32 when upcast."""
        cfg, w, dtype = self.cfg, self.w, self.dtype
        C, H, K, D, _, _, L = dims(cfg)
        eps = cfg.get("rms_norm_eps", 1e-6)
        B, T = ids.shape
        freqs = torch.outer(torch.arange(T).float(), self.inv)
        emb = torch.cat([freqs, freqs], -1)
        cos, sin = emb.cos().to(dtype), emb.sin().to(dtype)
        # HF's 4D mask: causal -inf above the diagonal plus -inf on padded keys.
        mask = torch.full((T, T), float("-inf")).triu(1)[None, None]
        mask = mask.masked_fill(attention_mask[:, None, None, :] == 0, float("-inf")).to(dtype)
        x = w["model.embed_tokens.weight"][ids]
        for i in range(L):
            p = "model.layers.%d." % i
            h = ref.rms(x, w[p + "input_layernorm.weight"], eps)
            q = self.linear(p + "self_attn.q_proj", h).view(B, T, H, D).transpose(1, 2)
            k = self.linear(p + "self_attn.k_proj", h).view(B, T, K, D).transpose(1, 2)
            v = self.linear(p + "self_attn.v_proj", h).view(B, T, K, D).transpose(1, 2)
            q, k = ref.rotate(q, cos, sin), ref.rotate(k, cos, sin)
            k = k[:, :, None].expand(B, K, H // K, T, D).reshape(B, H, T, D)  # HF repeat_kv
            v = v[:, :, None].expand(B, K, H // K, T, D).reshape(B, H, T, D)
            att = (q @ k.transpose(-1, -2)) * (D ** -0.5) + mask
            att = torch.softmax(att, -1, dtype=torch.float32).to(dtype)
            o = (att @ v).transpose(1, 2).reshape(B, T, H * D)
            x = x + self.linear(p + "self_attn.o_proj", o)
            h = ref.rms(x, w[p + "post_attention_layernorm.weight"], eps)
            g = self.linear(p + "mlp.gate_proj", h)
            u = self.linear(p + "mlp.up_proj", h)
            x = x + self.linear(p + "mlp.down_proj", F.silu(g) * u)
        x = ref.rms(x, w["model.norm.weight"], eps)
        head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
        logits = x @ head.t()
        return logits.float() if upcast else logits


def concatenated_inputs(batch):
    """TRL concatenated_inputs + the prompt/completion concatenation of concatenated_forward."""
    prompt = torch.cat([batch["prompt_input_ids"], batch["prompt_input_ids"]], 0)
    prompt_mask = torch.cat([batch["prompt_attention_mask"], batch["prompt_attention_mask"]], 0)
    completion = torch.cat([batch["chosen_input_ids"], batch["rejected_input_ids"]], 0)
    completion_mask = torch.cat([batch["chosen_attention_mask"], batch["rejected_attention_mask"]], 0)
    input_ids = torch.cat([prompt, completion], 1)
    attention_mask = torch.cat([prompt_mask, completion_mask], 1)
    loss_mask = torch.cat([torch.zeros_like(prompt_mask), completion_mask], 1)
    return input_ids, attention_mask, loss_mask


def selective_log_softmax(logits, index):
    """TRL's selective_log_softmax (trl/trainer/utils.py, TRL >= 0.14): log_softmax + gather without
    the full fp32 log-prob tensor: fp32 logits by gather - per-row logsumexp, others by per-row
    log_softmax."""
    if logits.dtype in (torch.float32, torch.float64):
        selected = torch.gather(logits, -1, index.unsqueeze(-1)).squeeze(-1)
        return selected - torch.stack([torch.logsumexp(row, -1) for row in logits])
    rows = [F.log_softmax(lg, -1).gather(-1, ix.unsqueeze(-1)).squeeze(-1) for lg, ix in zip(logits, index)]
    return torch.stack(rows)


def concatenated_logps(model, batch, logps="classic"):
    """(chosen_logps, rejected_logps): summed completion log-probs from one forward of the (2P, T) batch.

    classic: logits upcast to fp32 (LlamaForCausalLM before transformers 4.45), shifted by slicing,
    full log_softmax + gather (TRL's get_batch_logps). selective: logits in the model dtype, labels and
    loss mask rolled by one, selective_log_softmax (TRL >= 0.14 concatenated_forward)."""
    input_ids, attention_mask, loss_mask = concatenated_inputs(batch)
    logits = model(input_ids, attention_mask, upcast=(logps == "classic"))  # (2P, T, V)
    if logps == "classic":
        labels = input_ids[:, 1:].clone()
        mask = loss_mask[:, 1:].bool()
        labels[~mask] = 0
        per_token = torch.gather(logits[:, :-1].log_softmax(-1), 2, labels.unsqueeze(2)).squeeze(2)
        out = (per_token * mask).sum(-1)
    else:
        labels = torch.roll(input_ids, shifts=-1, dims=1)
        mask = torch.roll(loss_mask, shifts=-1, dims=1).bool()
        labels[~mask] = 0
        per_token = selective_log_softmax(logits, labels)
        per_token[~mask] = 0
        out = per_token.sum(-1)
    n = batch["prompt_input_ids"].shape[0]
    return out[:n], out[n:]


def dpo_step(model, opt, batch, beta, max_grad_norm, logps="classic"):
    model.adapters_enabled = True
    chosen, rejected = concatenated_logps(model, batch, logps)
    with torch.no_grad():  # TRL compute_ref_log_probs with PEFT: model.disable_adapter()
        model.adapters_enabled = False
        ref_chosen, ref_rejected = concatenated_logps(model, batch, logps)
        model.adapters_enabled = True
    logits = (chosen - rejected) - (ref_chosen - ref_rejected)
    loss = -F.logsigmoid(beta * logits).mean()
    loss.backward()
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()


def synthetic_batch(gen, vocab, pairs, prompt_len, completion_len):
    def ids(n):
        return torch.randint(0, vocab, (pairs, n), generator=gen)

    b = {"prompt_input_ids": ids(prompt_len), "chosen_input_ids": ids(completion_len),
         "rejected_input_ids": ids(completion_len)}
    for k in ("prompt", "chosen", "rejected"):
        b[k + "_attention_mask"] = torch.ones_like(b[k + "_input_ids"])
    return b


def maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss():
    """Resets the kernel's peak-RSS mark (Linux clear_refs 5) so that the steps' own peak can be read."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="Hugging Face Llama folder (config.json + safetensors)")
    ap.add_argument("--dtype", default="bfloat16", choices=["float32", "bfloat16"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--pairs-per-step", type=int, default=4)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--completion-len", type=int, default=64)
    ap.add_argument("--lora-r", type=int, default=8)
    ap.add_argument("--lora-alpha", type=float, default=16)
    ap.add_argument("--steps", type=int, default=3, help="measured steps")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps before the measured ones")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=5e-6)
    ap.add_argument("--max-grad-norm", type=float, default=1.0, help="HF Trainer default; 0 disables")
    ap.add_argument("--logps", default="classic", choices=["classic", "selective"],
                    help="classic: fp32 logits, log_softmax + gather (the default); selective: TRL >= 0.14")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)  # LoRA A init
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[a.dtype]
    cfg, w = ref.load(a.model, dtype)
    model = LoraLlama(cfg, w, dtype, a.lora_r, a.lora_alpha)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.0)
    gen = torch.Generator().manual_seed(a.seed)
    P = a.pairs_per_step
    batches = [synthetic_batch(gen, cfg["vocab_size"], P, a.prompt_len, a.completion_len)
               for _ in range(a.warmup + a.steps)]
    load_peak = maxrss_mib()  # weights loading (file bytes + copies) peaks here
    can_reset = reset_peak_rss()
    losses = []
    for b in batches[:a.warmup]:
        losses.append(dpo_step(model, opt, b, a.beta, a.max_grad_norm, a.logps))
    t = time.perf_counter()
    step_seconds = []
    for b in batches[a.warmup:]:
        t_step = time.perf_counter()
        losses.append(dpo_step(model, opt, b, a.beta, a.max_grad_norm, a.logps))
        step_seconds.append(time.perf_counter() - t_step)
    secs = time.perf_counter() - t
    steps = max(a.steps, 1)
    print(json.dumps({
        "peer": "dpo_eager_pytorch", "dtype": a.dtype, "threads": a.threads, "pairs_per_step": P,
        "prompt_len": a.prompt_len, "completion_len": a.completion_len, "lora_r": a.lora_r, "steps": a.steps,
        "logps": a.logps,
        "seconds_per_step": secs / steps, "pairs_per_s": P * a.steps / secs if secs > 0 else None,
        "step_seconds": step_seconds,
        "peak_rss_mib": max(load_peak, maxrss_mib()),
        "steps_peak_rss_mib": maxrss_mib() if can_reset else None,
        "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
        "flops_per_step": necessary_flops(cfg, P, a.prompt_len, a.completion_len, a.lora_r)}))


if __name__ == "__main__":
    main()
