// Llama forward pass. See tenet/model/llama.h; numerics follow transformers' modeling_llama.py
// (eager attention path).
#include "tenet/model/llama.h"

#include "attention.h"
#include "swiglu.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "tenet/model/matmul.h"
#include "tenet/model/rms_norm.h"
#include "tenet/model/rope.h"

namespace tenet {

namespace {

std::string ShapeString(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// A module holding one parameter named "weight" (embeddings, norms), so that names nest like HF's.
struct WeightHolder : torch::nn::Module {
  explicit WeightHolder(torch::Tensor w) { weight = register_parameter("weight", std::move(w), false); }
  torch::Tensor weight;
};

}  // namespace

struct LlamaForCausalLM::Layer : torch::nn::Module {
  struct Attention : torch::nn::Module {
    std::shared_ptr<Linear> q, k, v, o;
  };
  struct Mlp : torch::nn::Module {
    std::shared_ptr<Linear> gate, up, down;
  };
  std::shared_ptr<Attention> attn;
  std::shared_ptr<Mlp> mlp;
  std::shared_ptr<WeightHolder> input_norm, post_norm;
  const ModelConfig* config = nullptr;
  int64_t index = 0;

  // x (B, T, C); cos/sin (B, 1, T, D); bias (B, 1, 1, T, S) additive mask in the model dtype
  // -> (B, T - from, C): the outputs of positions from..T-1 only. Keys and values are made for all
  // T positions (and appended to the cache); queries, attention output and MLP only for the
  // positions returned, which is exact because a position's output feeds nothing but later layers.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& mask_bias, KVCache* cache, int64_t from = 0, const AdapterChoice& adapters = {}) {
    const ModelConfig& c = *config;
    const int64_t B = x.size(0), T = x.size(1), Tq = T - from;
    const int64_t H = c.num_attention_heads, K = c.num_key_value_heads, D = c.head_dim, G = H / K;

    torch::Tensor h = RmsNorm(x, input_norm->weight, c.rms_norm_eps);
    torch::Tensor hq = from == 0 ? h : h.narrow(1, from, Tq);  // (B, Tq, C)
    torch::Tensor cos_q = from == 0 ? cos : cos.narrow(2, from, Tq), sin_q = from == 0 ? sin : sin.narrow(2, from, Tq);
    // On the CPU RoPE writes the (B, H, T, D) head layout the attention kernel reads, in one pass
    // each way, with or without a KV cache (decoding: one call instead of ~10 small ops per layer,
    // 1B batch-1 decode +3% in 8 alternating runs); elsewhere the eager ops.
    const bool fused = attention::Supports(h);
    torch::Tensor q, k, v;
    if (fused) {
      q = RopeToHeads(attn->q->forward(hq, adapters), cos_q, sin_q, H);                   // (B, H, Tq, D)
      k = RopeToHeads(attn->k->forward(h, adapters), cos, sin, K);                        // (B, K, T, D)
      v = attn->v->forward(h, adapters).view({B, T, K, D}).transpose(1, 2);               // (B, K, T, D)
    } else {
      q = ApplyRope(attn->q->forward(hq, adapters).view({B, Tq, H, D}).transpose(1, 2), cos_q, sin_q);  // (B, H, Tq, D)
      k = ApplyRope(attn->k->forward(h, adapters).view({B, T, K, D}).transpose(1, 2), cos, sin);        // (B, K, T, D)
      v = attn->v->forward(h, adapters).view({B, T, K, D}).transpose(1, 2);                             // (B, K, T, D)
    }
    if (cache != nullptr) {
      std::tie(k, v) = cache->Append(index, k, v);  // (B, K, S, D) views into the (B, K, capacity, D) cache
      // LibTorch 1.13's CPU bmm handles these strided views ~1.5x slower than one explicit copy
      // followed by the contiguous kernel (bench preset decode: 0.35 vs 0.23 ms per layer).
      k = k.contiguous();
      v = v.contiguous();
    }
    const int64_t S = k.size(2);
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    const torch::Tensor bias = from == 0 ? mask_bias : mask_bias.narrow(3, from, Tq);  // (B, 1, 1, Tq, S)
    torch::Tensor out;  // (B, H, Tq, D)
    if (fused) {
      // One pass per row, no (B, H, T, S) tensors kept (attention.h). The bias is fp32 here.
      out = attention::Attend(q, k, v, bias.reshape({B, Tq, S}).to(torch::kFloat32).contiguous(), scale);
    } else {
      // GQA without copying K/V: query head h uses kv head h / G, so fold G into the row dim.
      torch::Tensor qg = q.reshape({B, K, G * Tq, D});
      torch::Tensor scores = torch::matmul(qg, k.transpose(-1, -2)) * scale;
      scores = scores.view({B, K, G, Tq, S}) + bias;  // (B, K, G, Tq, S)
      torch::Tensor probs = torch::softmax(scores.to(torch::kFloat32), -1).to(q.scalar_type());
      out = torch::matmul(probs.view({B, K, G * Tq, S}), v).view({B, H, Tq, D});
    }
    out = out.transpose(1, 2).reshape({B, Tq, H * D});
    torch::Tensor x1 = (from == 0 ? x : x.narrow(1, from, Tq)) + attn->o->forward(out, adapters);

    h = RmsNorm(x1, post_norm->weight, c.rms_norm_eps);
    torch::Tensor m = mlp->down->forward(SwiGlu(mlp->gate->forward(h, adapters), mlp->up->forward(h, adapters)), adapters);
    return x1 + m;
  }
};

namespace {

// One decoder layer run without keeping its activations (gradient checkpointing): the forward
// runs under no-grad and keeps the layer input and the CPU RNG state; the backward restores that
// state (so dropout draws the same masks), recomputes the layer with gradients and back-propagates
// through it, which also accumulates the gradients of the layer's trainable (LoRA) weights.
class CheckpointedLayer : public torch::autograd::Function<CheckpointedLayer> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& cos,
                               const torch::Tensor& sin, const torch::Tensor& bias, LlamaForCausalLM::Layer* layer, int64_t from,
                               bool attached) {
    torch::Tensor rng = at::detail::getDefaultCPUGenerator().get_state();
    ctx->save_for_backward({x, cos, sin, bias, rng});
    ctx->saved_data["layer"] = reinterpret_cast<int64_t>(layer);
    ctx->saved_data["from"] = from;
    ctx->saved_data["attached"] = attached;
    const AdapterChoice adapters{attached, nullptr};
    return layer->forward(x, cos, sin, bias, nullptr, from, adapters);  // autograd is off inside a custom forward
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto* layer = reinterpret_cast<LlamaForCausalLM::Layer*>(ctx->saved_data["layer"].toInt());
    auto generator = at::detail::getDefaultCPUGenerator();
    torch::Tensor outer_rng = generator.get_state();
    generator.set_state(saved[4]);
    torch::Tensor x = saved[0].detach().requires_grad_(true);
    torch::Tensor y;
    {
      torch::AutoGradMode enable(true);
      const AdapterChoice adapters{ctx->saved_data["attached"].toBool(), nullptr};
      y = layer->forward(x, saved[1], saved[2], saved[3], nullptr, ctx->saved_data["from"].toInt(), adapters);
    }
    generator.set_state(outer_rng);
    torch::autograd::backward({y}, {grads[0]});
    return {x.grad(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

std::vector<TensorSpec> LlamaForCausalLM::ExpectedTensors(const ModelConfig& c) {
  const int64_t C = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t HD = c.num_attention_heads * c.head_dim, KD = c.num_key_value_heads * c.head_dim;
  std::vector<TensorSpec> out;
  out.push_back({"model.embed_tokens.weight", {V, C}});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    out.push_back({p + "input_layernorm.weight", {C}});
    out.push_back({p + "self_attn.q_proj.weight", {HD, C}});
    out.push_back({p + "self_attn.k_proj.weight", {KD, C}});
    out.push_back({p + "self_attn.v_proj.weight", {KD, C}});
    if (c.qkv_bias) {
      out.push_back({p + "self_attn.q_proj.bias", {HD}});
      out.push_back({p + "self_attn.k_proj.bias", {KD}});
      out.push_back({p + "self_attn.v_proj.bias", {KD}});
    }
    out.push_back({p + "self_attn.o_proj.weight", {C, HD}});
    if (c.o_bias) out.push_back({p + "self_attn.o_proj.bias", {C}});
    out.push_back({p + "post_attention_layernorm.weight", {C}});
    out.push_back({p + "mlp.gate_proj.weight", {F, C}});
    out.push_back({p + "mlp.up_proj.weight", {F, C}});
    out.push_back({p + "mlp.down_proj.weight", {C, F}});
    if (c.mlp_bias) {
      out.push_back({p + "mlp.gate_proj.bias", {F}});
      out.push_back({p + "mlp.up_proj.bias", {F}});
      out.push_back({p + "mlp.down_proj.bias", {C}});
    }
  }
  out.push_back({"model.norm.weight", {C}});
  if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", {V, C}});
  return out;
}

LlamaForCausalLM::LlamaForCausalLM(ModelConfig config, ModelOptions options)
    : config_(std::move(config)), options_(options) {}

Result<std::shared_ptr<LlamaForCausalLM>> LlamaForCausalLM::Create(const ModelConfig& config,
                                                                   const WeightSource& source,
                                                                   const ModelOptions& options) {
  if (!torch::isFloatingType(options.dtype)) return Status::InvalidArgument("dtype", "model dtype must be floating point");
  std::map<std::string, torch::Tensor> w;
  for (const TensorSpec& spec : ExpectedTensors(config)) {
    TENET_ASSIGN_OR_RETURN(torch::Tensor t, source(spec));
    if (t.sizes().vec() != spec.shape) {
      return Status::InvalidArgument("tensor '" + spec.name + "'", "has shape " + ShapeString(t.sizes().vec()) +
                                                                       " but config.json implies " + ShapeString(spec.shape));
    }
    if (!torch::isFloatingType(t.scalar_type())) {
      return Status::InvalidArgument("tensor '" + spec.name + "'", std::string("has non-float dtype ") + c10::toString(t.scalar_type()));
    }
    // .to() is a no-op (zero-copy stays zero-copy) when dtype and device already match. Matrices
    // are stored in the weight dtype (products widen them, tenet/model/matmul.h); norm weights and
    // biases, which meet activations elementwise, in the compute dtype.
    const bool matrix = spec.shape.size() == 2;
    w[spec.name] = t.to(options.device, matrix ? options.storage_dtype() : options.dtype);
  }
  auto take = [&](const std::string& name) { return w.count(name) ? w.at(name) : torch::Tensor(); };
  auto linear = [&](const std::string& path) { return std::make_shared<Linear>(take(path + ".weight"), take(path + ".bias")); };

  std::shared_ptr<LlamaForCausalLM> m(new LlamaForCausalLM(config, options));
  auto model = std::make_shared<torch::nn::Module>("LlamaModel");
  auto embed = std::make_shared<WeightHolder>(take("model.embed_tokens.weight"));
  model->register_module("embed_tokens", embed);
  auto layer_list = torch::nn::ModuleList();
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i);
    auto layer = std::make_shared<Layer>();
    layer->config = &m->config_;
    layer->index = i;
    layer->attn = std::make_shared<Layer::Attention>();
    layer->attn->q = layer->attn->register_module("q_proj", linear(p + ".self_attn.q_proj"));
    layer->attn->k = layer->attn->register_module("k_proj", linear(p + ".self_attn.k_proj"));
    layer->attn->v = layer->attn->register_module("v_proj", linear(p + ".self_attn.v_proj"));
    layer->attn->o = layer->attn->register_module("o_proj", linear(p + ".self_attn.o_proj"));
    layer->mlp = std::make_shared<Layer::Mlp>();
    layer->mlp->gate = layer->mlp->register_module("gate_proj", linear(p + ".mlp.gate_proj"));
    layer->mlp->up = layer->mlp->register_module("up_proj", linear(p + ".mlp.up_proj"));
    layer->mlp->down = layer->mlp->register_module("down_proj", linear(p + ".mlp.down_proj"));
    layer->register_module("self_attn", layer->attn);
    layer->register_module("mlp", layer->mlp);
    layer->input_norm = layer->register_module("input_layernorm", std::make_shared<WeightHolder>(take(p + ".input_layernorm.weight")));
    layer->post_norm = layer->register_module("post_attention_layernorm",
                                              std::make_shared<WeightHolder>(take(p + ".post_attention_layernorm.weight")));
    for (const char* n : {"q_proj", "k_proj", "v_proj", "o_proj"}) {
      m->linears_.emplace_back(p + ".self_attn." + n, std::dynamic_pointer_cast<Linear>(layer->attn->named_children()[n]));
    }
    for (const char* n : {"gate_proj", "up_proj", "down_proj"}) {
      m->linears_.emplace_back(p + ".mlp." + n, std::dynamic_pointer_cast<Linear>(layer->mlp->named_children()[n]));
    }
    for (size_t k = m->linears_.size() - 7; k < m->linears_.size(); ++k) m->linears_[k].second->set_index(k);
    layer_list->push_back(layer);
    m->layers_.push_back(layer);
  }
  model->register_module("layers", layer_list);
  auto norm = std::make_shared<WeightHolder>(take("model.norm.weight"));
  model->register_module("norm", norm);
  m->register_module("model", model);
  m->embed_ = embed->weight;
  m->norm_ = norm->weight;
  if (config.tie_word_embeddings) {
    m->lm_head_ = m->embed_;
  } else {
    m->lm_head_ = m->register_module("lm_head", std::make_shared<WeightHolder>(take("lm_head.weight")))->weight;
  }
  m->inv_freq_ = RopeInverseFrequencies(config).to(options.device);
  return m;
}

Result<torch::Tensor> LlamaForCausalLM::Hidden(const torch::Tensor& input_ids, const torch::Tensor& positions,
                                               const torch::Tensor& allowed, KVCache* cache, int64_t output_from,
                                               const AdapterChoice& adapters) {
  if (input_ids.dim() != 2 || input_ids.scalar_type() != torch::kInt64) {
    return Status::InvalidArgument("input_ids", "must be a (B, T) int64 tensor");
  }
  const int64_t B = input_ids.size(0), T = input_ids.size(1);
  if (T == 0) return Status::InvalidArgument("input_ids", "empty sequence");
  if (output_from < 0 || output_from >= T) {
    return Status::InvalidArgument("output_from", std::to_string(output_from) + " is outside [0, " + std::to_string(T) + ")");
  }
  if (adapters.rows != nullptr && static_cast<int64_t>(adapters.rows->rows.size()) != B) {
    return Status::InvalidArgument("row adapters", "has " + std::to_string(adapters.rows->rows.size()) + " rows, input has " + std::to_string(B));
  }
  if (cache != nullptr && cache->batch() != B) {
    return Status::InvalidArgument("kv cache", "has " + std::to_string(cache->batch()) + " rows, input has " + std::to_string(B));
  }
  // Per-row cached lengths (all zero without a cache); S = longest row + T key positions.
  std::vector<int64_t> past = cache != nullptr ? cache->lengths() : std::vector<int64_t>(static_cast<size_t>(B), 0);
  const int64_t S = *std::max_element(past.begin(), past.end()) + T;
  if (cache != nullptr && S > cache->capacity()) {
    return Status::InvalidArgument("kv cache", std::to_string(S) + " positions do not fit a cache of capacity " +
                                                   std::to_string(cache->capacity()));
  }
  const auto dev = options_.device;
  // Range check where the ids live (normally the CPU), so a CUDA forward does not sync on it.
  auto [lo, hi] = torch::aminmax(input_ids);
  if (lo.item<int64_t>() < 0 || hi.item<int64_t>() >= config_.vocab_size) {
    return Status::InvalidArgument("input_ids", "token id outside [0, " + std::to_string(config_.vocab_size) + ")");
  }
  torch::Tensor ids = input_ids.to(dev);
  auto idx = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  torch::Tensor past_t = torch::tensor(past, torch::kInt64).to(dev).unsqueeze(1);  // (B, 1)
  torch::Tensor pos = positions.defined() ? positions.to(dev) : past_t + torch::arange(T, idx).unsqueeze(0);
  torch::Tensor allow = allowed;
  if (!allow.defined()) {
    // Causal per row: new token t of row b (absolute position past_b + t) sees keys 0..past_b+t.
    allow = torch::arange(S, idx).view({1, 1, S}) <= (past_t + torch::arange(T, idx).unsqueeze(0)).unsqueeze(2);
  } else if (allow.sizes().vec() != std::vector<int64_t>{B, T, S}) {
    return Status::InvalidArgument("attention mask", "must have shape (B, T, S) = (" + std::to_string(B) + ", " +
                                                         std::to_string(T) + ", " + std::to_string(S) + ")");
  }
  // Additive bias: 0 where allowed, the dtype's lowest value elsewhere (HF's convention; a fully
  // masked padding row then yields a uniform softmax instead of NaN).
  const double lowest = options_.dtype == torch::kFloat16    ? -65504.0
                        : options_.dtype == torch::kBFloat16 ? -3.3895313892515355e38
                                                              : static_cast<double>(std::numeric_limits<float>::lowest());
  // On the CPU the layers' attention kernel takes the bias in fp32: made so once here.
  const bool fp32_bias = attention::Supports(torch::empty({0}, torch::TensorOptions().dtype(options_.dtype).device(dev)));
  torch::Tensor bias = torch::zeros({B, 1, 1, T, S}, torch::TensorOptions().dtype(fp32_bias ? torch::kFloat32 : options_.dtype).device(dev))
                           .masked_fill(allow.to(dev).logical_not().view({B, 1, 1, T, S}), lowest);
  auto [cos, sin] = RopeCosSin(inv_freq_, pos, options_.dtype);
  torch::Tensor x = torch::embedding(embed_, ids).to(options_.dtype);  // (B, T, C)
  const bool checkpoint = checkpointing_ && cache == nullptr && torch::GradMode::is_enabled();
  // A custom autograd function only records itself when an input needs a gradient; the trainable
  // weights live inside the layers, so the (frozen) embedding output is made to need one.
  if (checkpoint && !x.requires_grad()) x = x.detach().requires_grad_(true);
  for (auto& layer : layers_) {
    // Only the last layer drops positions: every earlier layer's outputs are the next one's keys.
    const int64_t from = layer == layers_.back() ? output_from : 0;
    x = checkpoint ? CheckpointedLayer::apply(x, cos, sin, bias, layer.get(), from, adapters.attached)
                   : layer->forward(x, cos, sin, bias, cache, from, adapters);
  }
  if (cache != nullptr) cache->Advance(T);
  return RmsNorm(x, norm_, config_.rms_norm_eps);
}

torch::Tensor LlamaForCausalLM::Logits(const torch::Tensor& hidden) { return Affine(hidden, lm_head_); }

int64_t LlamaForCausalLM::num_base_parameters() const {
  int64_t n = 0;
  for (const auto& p : named_parameters()) {
    const std::string& k = p.key();
    if (k.size() >= 6 && (k.substr(k.size() - 6) == "lora_A" || k.substr(k.size() - 6) == "lora_B")) continue;
    n += p.value().numel();
  }
  return n;
}

}  // namespace tenet
