#!/usr/bin/env python3
"""Checks a LoraLab Llama checkpoint against Python.

usage: llama_parity.py CHECKPOINT_DIR IO_FILE [--atol 1e-4] [--reference]

CHECKPOINT_DIR holds config.json + model.safetensors as LoraLab's HfCheckpoint.Save writes them.
IO_FILE is a safetensors file with "input_ids" (I64, [B, T]) and "logits" (F32, [B, T, V]) that
LoraLab computed. The script recomputes the logits and compares them (max |difference| <= atol).

Where `transformers` is installed (the GPU machine), the model is loaded with
LlamaForCausalLM.from_pretrained: this checks the export against Hugging Face itself.
Otherwise (Debian's python3 with torch 1.13, no transformers, no safetensors package) it runs an
independent reference forward of the Llama architecture written below, reading safetensors with
safetensors_io.py (written from the format's spec, beside this file). --reference forces the reference path.

Exit status 0 when the logits match, 1 when they do not, 2 on a usage or format error.
"""
import json
import math
import os
import sys

import torch

sys.dont_write_bytecode = True     # no __pycache__ in the source tree from the imports below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors  # noqa: E402  (the spec's reader, shared with parity_reference.py)


def rms_norm(x, weight, eps):
    h = x.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return weight * h.to(x.dtype)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rotary_tables(T, D, theta, rope="float64"):
    """cos, sin [T, D] of the rotate_half convention. rope="float64": computed in float64 (the exact angles);
    rope="hf": as Hugging Face's LlamaRotaryEmbedding builds them, in float32 (inv_freq = 1 / theta ** (arange(0, D, 2) / D),
    angles = positions x inv_freq, cos and sin in float32), then cast to float64 as HF casts them to the model's dtype;
    rope="exp": float32 as "hf", but theta^(-2i/d) computed as 1 / exp(2i/d * ln theta) (a diagnostic: LoraLab's formula)."""
    if rope == "hf":
        inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.int64).float() / D))
        freqs = torch.outer(torch.arange(T, dtype=torch.int64).float(), inv_freq)
    elif rope == "exp":
        inv_freq = 1.0 / ((torch.arange(0, D, 2, dtype=torch.float32) / D) * math.log(theta)).exp()
        freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    else:
        inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    angles = torch.cat((freqs, freqs), dim=-1)
    return angles.cos().double(), angles.sin().double()


def reference_logits(config, w, input_ids, rope="float64", tables=None):
    """A written-out Llama forward (rotate_half RoPE, causal softmax attention, SwiGLU), in float64 (RMSNorm statistics
    in float32 as Hugging Face's LlamaRMSNorm; RoPE tables as rotary_tables(rope) says). Differentiable in w.
    Grouped-query attention: KV key/value heads, query head j attends with key/value head j // (H // KV)."""
    w = {k: v.double() for k, v in w.items()}
    C = config["hidden_size"]
    H = config["num_attention_heads"]
    KV = config.get("num_key_value_heads") or H
    D = C // H
    eps = config["rms_norm_eps"]
    B, T = input_ids.shape
    cos, sin = tables if tables is not None else rotary_tables(T, D, config["rope_theta"], rope)
    causal = torch.ones(T, T, dtype=torch.bool).tril()

    x = w["model.embed_tokens.weight"][input_ids]
    for i in range(config["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def heads(name, n):
            return (h @ w[p + "self_attn." + name + ".weight"].T).view(B, T, n, D).transpose(1, 2)

        q, k, v = heads("q_proj", H), heads("k_proj", KV), heads("v_proj", KV)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D)
        scores = scores.masked_fill(~causal, float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
        up = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (gate * up) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if config.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


def transformers_logits(directory, input_ids):
    from transformers import LlamaForCausalLM  # noqa: imported only where installed
    model = LlamaForCausalLM.from_pretrained(directory, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        return model(input_ids=input_ids).logits


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    atol = 1e-4
    if "--atol" in argv:
        atol = float(argv[argv.index("--atol") + 1])
        args.remove(argv[argv.index("--atol") + 1])
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    directory, io_file = args
    with open(directory + "/config.json") as f:
        config = json.load(f)
    io = read_safetensors(io_file)
    input_ids, expected = io["input_ids"].long(), io["logits"].double()

    backend = "reference"
    if "--reference" not in argv:
        try:
            import transformers  # noqa: F401
            backend = "transformers"
        except ImportError:
            pass
    with torch.no_grad():
        if backend == "transformers":
            actual = transformers_logits(directory, input_ids).double()
        else:
            actual = reference_logits(config, read_safetensors(directory + "/model.safetensors"), input_ids)
    diff = (actual - expected).abs().max().item()
    ok = actual.shape == expected.shape and diff <= atol
    print(json.dumps({"backend": backend, "max_abs_diff": diff, "atol": atol, "shape": list(actual.shape), "match": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
