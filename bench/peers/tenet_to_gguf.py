#!/usr/bin/env python3
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
"""tenet_to_gguf.py: write a Tenet / Hugging Face Llama folder as one GGUF file for llama.cpp.

Reads config.json, model.safetensors (or model-*.safetensors shards listed in
model.safetensors.index.json), tokenizer.json, tokenizer_config.json and generation_config.json,
and writes a GGUF file of the same shape, using the `gguf` package from a llama.cpp checkout's
gguf-py (from --llama-cpp DIR, or already importable through PYTHONPATH). Only numpy is needed:
safetensors are parsed by hand and memory-mapped, bf16 is handled as uint16 bits.

What it writes matches what llama.cpp's convert_hf_to_gguf.py writes for LlamaForCausalLM:
  * 2-D weights keep their dtype (--outtype auto), or are converted with --outtype bf16|f32|f16.
    1-D tensors (RMSNorm weights, biases, rope_freqs) are F32, as llama.cpp's CPU ops require
    (bf16 -> f32 is exact).
  * q_proj / k_proj rows are permuted from HF's rotate-half layout to GGML's interleaved RoPE
    layout (k with the KV head count, so GQA works).
  * tie_word_embeddings: no output.weight (llama.cpp then reads token_embd.weight for the head).
  * rope_scaling.rope_type == "llama3": a rope_freqs.weight tensor of per-frequency factors;
    rope_scaling.type == "linear": rope scaling type + factor keys.
  * head_dim, GQA head counts, rms eps, rope theta, context length.
  * The Llama 3 byte-level BPE tokenizer: tokenizer.ggml.model "gpt2", pre "llama-bpe", tokens,
    token types, merges, bos/eos ids, add_bos, chat template.

Usage:
  tenet_to_gguf.py MODEL_DIR [--out FILE.gguf] [--outtype auto|bf16|f32|f16] [--llama-cpp DIR]
"""
import argparse
import json
import math
import mmap
import os
import re
import sys
import time
import types

import numpy as np

LLAMA3_PRETOKENIZER_REGEX = (
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
    "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)


def die(msg):
    print(f"tenet_to_gguf: error: {msg}", file=sys.stderr)
    sys.exit(1)


def import_gguf(llama_cpp_dir):
    if llama_cpp_dir:
        gguf_py = os.path.join(llama_cpp_dir, "gguf-py")
        if not os.path.isdir(os.path.join(gguf_py, "gguf")):
            die(f"{gguf_py}/gguf not found: --llama-cpp must be a llama.cpp checkout")
        sys.path.insert(0, gguf_py)
    # gguf/__init__ imports sentencepiece (for SentencePiece vocabularies) and yaml (model cards) at
    # import time; neither is used here, so stand in for them when they are not installed.
    for name, attrs in (("sentencepiece", ("SentencePieceProcessor",)), ("yaml", ())):
        try:
            __import__(name)
        except ImportError:
            stub = types.ModuleType(name)
            for a in attrs:
                setattr(stub, a, type(a, (), {}))
            sys.modules[name] = stub
    try:
        import gguf  # noqa: F401
    except ImportError as e:
        die(f"cannot import the gguf package ({e}); pass --llama-cpp DIR or put DIR/gguf-py on PYTHONPATH")
    return sys.modules["gguf"]


# ---------------------------------------------------------------------------------------------
# safetensors, by hand

ST_DTYPES = {"BF16": np.uint16, "F16": np.float16, "F32": np.float32}


class SafetensorsFile:
    def __init__(self, path):
        self.path = path
        self.f = open(path, "rb")
        self.mm = mmap.mmap(self.f.fileno(), 0, access=mmap.ACCESS_READ)
        (n,) = np.frombuffer(self.mm, dtype="<u8", count=1)
        header = json.loads(bytes(self.mm[8:8 + int(n)]))
        header.pop("__metadata__", None)
        self.base = 8 + int(n)
        self.header = header

    def names(self):
        return list(self.header.keys())

    def dtype(self, name):
        return self.header[name]["dtype"]

    def array(self, name):
        """A read-only numpy view of the tensor's bytes (bf16 as uint16 bits)."""
        info = self.header[name]
        if info["dtype"] not in ST_DTYPES:
            die(f"{self.path}: tensor {name} has unsupported dtype {info['dtype']}")
        dt = np.dtype(ST_DTYPES[info["dtype"]]).newbyteorder("<")
        begin, end = info["data_offsets"]
        count = (end - begin) // dt.itemsize
        a = np.frombuffer(self.mm, dtype=dt, count=count, offset=self.base + begin)
        return a.reshape(info["shape"])


def open_weights(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
        files = {}
        where = {}
        for name, shard in weight_map.items():
            if shard not in files:
                p = os.path.join(model_dir, shard)
                if not os.path.isfile(p):
                    die(f"shard {p} listed in model.safetensors.index.json is missing")
                files[shard] = SafetensorsFile(p)
            if name not in files[shard].header:
                die(f"tensor {name} not found in {shard}")
            where[name] = files[shard]
        return where
    if os.path.isfile(single):
        st = SafetensorsFile(single)
        return {name: st for name in st.names()}
    die(f"{model_dir}: neither model.safetensors nor model.safetensors.index.json found")


# ---------------------------------------------------------------------------------------------
# dtype conversions (bit-exact where they can be)

def bf16_bits_to_f32(a):
    return (a.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16_bits(a):
    # Round to nearest even; NaNs stay (quiet) NaNs. Same rounding as gguf-py's BF16 quantizer.
    n = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    n = np.where((n & 0x7FFFFFFF) > 0x7F800000, (n & np.uint32(0xFFFF0000)) | np.uint32(64 << 16), n)
    n = (n.astype(np.uint64) + (0x7FFF + ((n >> 16) & 1))) >> 16
    return n.astype(np.uint16)


def convert(a, src, dst):
    """a: array as stored (src in BF16/F16/F32) -> array for GGUF type dst ('BF16'/'F16'/'F32')."""
    if src == dst:
        return a
    f32 = bf16_bits_to_f32(a) if src == "BF16" else a.astype(np.float32)
    if dst == "F32":
        return f32
    if dst == "F16":
        return f32.astype(np.float16)
    return f32_to_bf16_bits(f32)


# ---------------------------------------------------------------------------------------------
# Llama specifics

def permute_rope_rows(w, n_head):
    """HF q/k projection rows (rotate-half RoPE) -> GGML rows (interleaved-pair RoPE).
    Per head, row r of the first half goes to 2r and of the second half to 2r+1."""
    return np.ascontiguousarray(
        w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def llama3_rope_factors(cfg, head_dim):
    rs = cfg["rope_scaling"]
    base = float(cfg.get("rope_theta", 10000.0))
    factor = float(rs.get("factor", 8.0))
    low = float(rs.get("low_freq_factor", 1.0))
    high = float(rs.get("high_freq_factor", 4.0))
    old_ctx = float(rs.get("original_max_position_embeddings", 8192))
    low_wavelen = old_ctx / low
    high_wavelen = old_ctx / high
    if low_wavelen == high_wavelen:
        die("rope_scaling: low_freq_factor == high_freq_factor")
    # float32 throughout, like the reference converter (it computes in torch.float32).
    freqs = (np.float32(1.0) / (np.float32(base) ** (np.arange(0, head_dim, 2, dtype=np.float32)
                                                    / np.float32(head_dim)))).astype(np.float32)
    out = []
    for freq in freqs:
        wavelen = np.float32(2 * math.pi) / freq
        if wavelen < high_wavelen:
            out.append(1.0)
        elif wavelen > low_wavelen:
            out.append(factor)
        else:
            smooth = (np.float32(old_ctx) / wavelen - np.float32(low)) / np.float32(high - low)
            out.append(np.float32(1) / ((np.float32(1) - smooth) / np.float32(factor) + smooth))
    return np.array(out, dtype=np.float32)


LAYER_MAP = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "self_attn.q_proj.bias": "attn_q.bias",
    "self_attn.k_proj.bias": "attn_k.bias",
    "self_attn.v_proj.bias": "attn_v.bias",
    "self_attn.o_proj.bias": "attn_output.bias",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
    "mlp.gate_proj.bias": "ffn_gate.bias",
    "mlp.up_proj.bias": "ffn_up.bias",
    "mlp.down_proj.bias": "ffn_down.bias",
}
TOP_MAP = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER_RE = re.compile(r"^model\.layers\.(\d+)\.(.+)$")


def gguf_name(hf_name):
    if hf_name in TOP_MAP:
        return TOP_MAP[hf_name]
    m = LAYER_RE.match(hf_name)
    if m and m.group(2) in LAYER_MAP:
        return f"blk.{int(m.group(1))}.{LAYER_MAP[m.group(2)]}"
    return None


# ---------------------------------------------------------------------------------------------
# tokenizer

def load_json(path, required=True):
    if not os.path.isfile(path):
        if required:
            die(f"{path} not found")
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def looks_special(tok):
    return (tok.startswith("<|") and tok.endswith("|>")) or (tok.startswith("<｜") and tok.endswith("｜>"))


def build_vocab(gguf, model_dir, cfg, tokenizer_pre):
    tj = load_json(os.path.join(model_dir, "tokenizer.json"))
    tc = load_json(os.path.join(model_dir, "tokenizer_config.json"), required=False)
    gc = load_json(os.path.join(model_dir, "generation_config.json"), required=False)
    model = tj.get("model", {})
    if model.get("type") != "BPE" or model.get("byte_fallback", False) or \
            (tj.get("decoder") or {}).get("type") != "ByteLevel":
        die("tokenizer.json is not a byte-level BPE tokenizer (Llama 3 style); only that is supported")

    pre = json.dumps(tj.get("pre_tokenizer"))
    if tokenizer_pre == "llama-bpe" and json.dumps(LLAMA3_PRETOKENIZER_REGEX)[1:-1] not in pre:
        print("tenet_to_gguf: warning: tokenizer.json's pre-tokenizer regex is not Llama 3's; "
              "writing pre 'llama-bpe' anyway (use --tokenizer-pre to change)", file=sys.stderr)

    vocab = dict(model["vocab"])
    added = {t["id"]: t for t in tj.get("added_tokens", [])}
    for i, t in added.items():
        vocab[t["content"]] = i
    vocab_size = int(cfg.get("vocab_size", max(vocab.values()) + 1))
    if max(vocab.values()) >= vocab_size:
        die(f"tokenizer has id {max(vocab.values())} >= config vocab_size {vocab_size}")
    by_id = {i: tok for tok, i in vocab.items()}

    tokens, toktypes = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            toktypes.append(gguf.TokenType.UNUSED)
            continue
        tok = by_id[i]
        if i in added:
            if added[i].get("special", False) or looks_special(tok):
                toktypes.append(gguf.TokenType.CONTROL)
            else:
                tok = tok.replace("\u2581", " ")
                toktypes.append(gguf.TokenType.USER_DEFINED)
        else:
            toktypes.append(gguf.TokenType.NORMAL)
        tokens.append(tok)

    merges = model.get("merges") or []
    if merges and isinstance(merges[0], list):  # transformers >= 4.45 writes [left, right] pairs
        merges = [" ".join("".join(chr(ord(c) + 256) if c == " " else c for c in part) for part in pair)
                  for pair in merges]
    if not merges:
        die("tokenizer.json has no BPE merges")

    # Special token ids: tokenizer_config first, then config.json, then generation_config.json
    # (first int of a list), first one found wins.
    content_to_id = {t["content"]: i for i, t in added.items()}
    special = {}
    for typ in ("bos", "eos", "unk", "sep", "pad", "cls", "mask"):
        entry = tc.get(f"{typ}_token")
        if isinstance(entry, dict):
            entry = entry.get("content")
        if isinstance(entry, str) and entry in content_to_id:
            special[typ] = content_to_id[entry]
            continue
        for src in (cfg, gc):
            v = src.get(f"{typ}_token_id")
            if isinstance(v, list) and v:
                v = v[0]
            if isinstance(v, int) and 0 <= v < vocab_size:
                special[typ] = v
                break
    add_flags = {typ: tc[f"add_{typ}_token"] for typ in ("bos", "eos")
                 if isinstance(tc.get(f"add_{typ}_token"), bool)}

    chat_template = tc.get("chat_template")
    jinja = os.path.join(model_dir, "chat_template.jinja")
    if chat_template is None and os.path.isfile(jinja):
        with open(jinja, encoding="utf-8") as f:
            chat_template = f.read()
    return tokens, toktypes, merges, special, add_flags, chat_template


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", help="Tenet / HF Llama folder (config.json, safetensors, tokenizer.json)")
    ap.add_argument("--out", help="output .gguf (default: MODEL_DIR.<outtype>.gguf, next to the folder)")
    ap.add_argument("--outtype", default="auto", choices=["auto", "bf16", "f32", "f16"],
                    help="dtype of 2-D weights; auto keeps the checkpoint's (default)")
    ap.add_argument("--llama-cpp", help="llama.cpp checkout whose gguf-py to use (else PYTHONPATH)")
    ap.add_argument("--tokenizer-pre", default="llama-bpe", help="tokenizer.ggml.pre (default llama-bpe)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    gguf = import_gguf(args.llama_cpp)
    model_dir = os.path.abspath(args.model_dir)
    cfg = load_json(os.path.join(model_dir, "config.json"))
    archs = cfg.get("architectures") or ["LlamaForCausalLM"]
    if cfg.get("model_type", "llama") != "llama" or archs[0] != "LlamaForCausalLM":
        die(f"only LlamaForCausalLM is supported (got model_type={cfg.get('model_type')}, {archs})")

    n_layer = int(cfg["num_hidden_layers"])
    n_embd = int(cfg["hidden_size"])
    n_head = int(cfg["num_attention_heads"])
    n_head_kv = int(cfg.get("num_key_value_heads", n_head))
    head_dim = int(cfg.get("head_dim") or n_embd // n_head)
    tied = bool(cfg.get("tie_word_embeddings", False))

    weights = open_weights(model_dir)
    if "model.embed_tokens.weight" not in weights:
        die("model.embed_tokens.weight missing")
    src_dtype = weights["model.embed_tokens.weight"].dtype("model.embed_tokens.weight")
    outtype = {"bf16": "BF16", "f32": "F32", "f16": "F16"}.get(args.outtype, src_dtype)
    ftype = {"F32": gguf.LlamaFileType.ALL_F32, "F16": gguf.LlamaFileType.MOSTLY_F16,
             "BF16": gguf.LlamaFileType.MOSTLY_BF16}[outtype]
    out = args.out or f"{model_dir}.{outtype.lower()}.gguf"

    # --- the tensor plan: (gguf name, hf name or None, ggml type, producer) in llama.cpp's order
    plan = []
    if (rs := cfg.get("rope_scaling")) and str(rs.get("rope_type", rs.get("type", ""))).lower() == "llama3":
        factors = llama3_rope_factors(cfg, head_dim)
        plan.append(("rope_freqs.weight", None, "F32", lambda f=factors: f))

    seen = set()
    for hf_name, st in weights.items():
        if hf_name.endswith(".rotary_emb.inv_freq"):
            continue
        name = gguf_name(hf_name)
        if name is None:
            die(f"cannot map tensor {hf_name!r} to a llama.cpp name")
        if name == "output.weight" and tied:
            continue  # tied head: llama.cpp falls back to token_embd.weight
        seen.add(name)
        sdt = st.dtype(hf_name)
        shape = st.header[hf_name]["shape"]
        dst = outtype if len(shape) >= 2 and name.endswith(".weight") and not name.endswith("_norm.weight") \
            else "F32"
        if hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            heads = n_head
        elif hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            heads = n_head_kv
        else:
            heads = None

        def produce(st=st, hf_name=hf_name, sdt=sdt, dst=dst, heads=heads):
            a = st.array(hf_name)
            if heads is not None:
                a = permute_rope_rows(a, heads)
            return convert(a, sdt, dst)
        plan.append((name, hf_name, dst, produce))

    for i in range(n_layer):
        for t in ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm",
                  "ffn_gate", "ffn_up", "ffn_down"):
            if f"blk.{i}.{t}.weight" not in seen:
                die(f"missing weight for blk.{i}.{t} (HF layer {i})")
    if "output_norm.weight" not in seen:
        die("model.norm.weight missing")
    if not tied and "output.weight" not in seen:
        die("lm_head.weight missing and tie_word_embeddings is false")

    # --- metadata, same keys as convert_hf_to_gguf.py writes for LlamaModel
    w = gguf.GGUFWriter(path=None, arch=gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(os.path.basename(model_dir.rstrip("/")))
    w.add_block_count(n_layer)
    if (n_ctx := cfg.get("max_position_embeddings")) is not None:
        w.add_context_length(int(n_ctx))
    w.add_embedding_length(n_embd)
    w.add_feed_forward_length(int(cfg["intermediate_size"]))
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_freq_base(float(cfg.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(float(cfg.get("rms_norm_eps", 1e-6)))
    if "head_dim" in cfg:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_file_type(ftype)
    w.add_vocab_size(int(cfg["vocab_size"]))
    w.add_rope_dimension_count(head_dim)
    if rs:
        kind = str(rs.get("rope_type", rs.get("type", ""))).lower()
        if kind == "linear" and "factor" in rs:
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(float(rs["factor"]))
        elif kind not in ("llama3", "default", ""):
            print(f"tenet_to_gguf: warning: rope_scaling type {kind!r} is not converted", file=sys.stderr)

    tokens, toktypes, merges, special, add_flags, chat_template = build_vocab(gguf, model_dir, cfg,
                                                                              args.tokenizer_pre)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(args.tokenizer_pre)
    w.add_token_list(tokens)
    w.add_token_types(toktypes)
    w.add_token_merges(merges)
    for typ, tid in special.items():
        getattr(w, f"add_{typ}_token_id")(tid)
    for typ, flag in add_flags.items():
        getattr(w, f"add_add_{typ}_token")(flag)
    if chat_template is not None:
        w.add_chat_template(chat_template)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    # --- tensor infos, then stream the data one tensor at a time (the checkpoint stays mmapped)
    np_dtype = {"BF16": np.uint16, "F16": np.float16, "F32": np.float32}
    ggml_type = {"BF16": gguf.GGMLQuantizationType.BF16, "F16": gguf.GGMLQuantizationType.F16,
                 "F32": gguf.GGMLQuantizationType.F32}
    for name, hf_name, dst, produce in plan:
        if hf_name is None:
            shape = list(produce().shape)
        else:
            shape = weights[hf_name].header[hf_name]["shape"]
        nbytes = int(np.prod(shape)) * np.dtype(np_dtype[dst]).itemsize
        w.add_tensor_info(name, shape, np.dtype(np_dtype[dst]), nbytes, raw_dtype=ggml_type[dst])

    total_params, shared_params, expert_params, expert_count = w.get_total_parameter_count()
    w.add_size_label(gguf.size_label(total_params, shared_params, expert_params, expert_count))

    t0 = time.time()
    tmp = out + ".tmp"
    w.write_header_to_file(path=tmp)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    total = 0
    for name, hf_name, dst, produce in plan:
        a = np.ascontiguousarray(produce())
        w.write_tensor_data(a)
        total += a.nbytes
    w.close()
    os.replace(tmp, out)
    if not args.quiet:
        print(json.dumps({"out": out, "outtype": outtype.lower(), "tensors": len(plan),
                          "bytes": os.path.getsize(out), "tied": tied, "layers": n_layer,
                          "heads": n_head, "kv_heads": n_head_kv, "head_dim": head_dim,
                          "seconds": round(time.time() - t0, 2)}))


if __name__ == "__main__":
    main()
