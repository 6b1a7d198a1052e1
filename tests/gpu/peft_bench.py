"""The PyTorch side of LoraLab's training benchmark (./lab bench train; tests/LoraLab.Benchmarks/TrainBenchmark.cs).

It trains the same Llama-style decoder as LoraLab (pre-norm RMSNorm with float32 statistics, rotary
positions in the rotate_half convention, causal scaled-dot-product attention, SwiGLU, untied lm_head,
N(0, 0.02) init) on random tokens and prints one JSON line per (shape, mode):

  lora  PEFT's LoRA (r, alpha on all seven projections, no dropout) on a bf16 base with PEFT's default
        float32 adapters (get_peft_model's autocast_adapter_dtype=True), trained under torch.autocast
        (bf16), as PEFT's docs train mixed precision; AdamW over the adapters.
  full  every parameter in bf16, AdamW (PyTorch keeps its state in the parameters' dtype, bf16).

AdamW is fused where torch has the kernel (CUDA, torch >= 2.0). Without peft installed (Debian's
torch 1.13 on a CPU machine: the smoke run) the LoRA mode uses a hand-written LoRA with the same
dtypes and says so in its "lora_impl" field: that is a check of the harness, not of PEFT.

  python3 peft_bench.py --shape tiny:256:4:4:704:32000:256:32 [--shape ...] [--modes lora,full]
                        [--device cuda] [--steps 10] [--warmup 3] [--repeats 3] [--rank 16] [--alpha 32]
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class RMSNorm(nn.Module):
    def __init__(self, size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        h = x.float()
        return self.weight * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


def rotary_tables(length, head_dim, dtype, device, theta=10000.0):
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, device=device, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(length, device=device, dtype=torch.float32), inv_freq)
    angles = torch.cat([angles, angles], -1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin


def attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    # torch 1.13 has no fused attention: the reference formula.
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    causal = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
    return scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v


class Block(nn.Module):
    def __init__(self, h, heads, inter):
        super().__init__()
        self.heads = heads
        self.input_layernorm = RMSNorm(h)
        self.post_attention_layernorm = RMSNorm(h)
        for name in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            setattr(self, name, nn.Linear(h, h, bias=False))
        self.gate_proj = nn.Linear(h, inter, bias=False)
        self.up_proj = nn.Linear(h, inter, bias=False)
        self.down_proj = nn.Linear(inter, h, bias=False)

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        a = self.input_layernorm(x)
        heads = lambda proj: proj(a).view(B, T, self.heads, C // self.heads).transpose(1, 2)
        y = attention(rotate(heads(self.q_proj), cos, sin), rotate(heads(self.k_proj), cos, sin), heads(self.v_proj))
        x = x + self.o_proj(y.transpose(1, 2).reshape(B, T, C))
        m = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(m)) * self.up_proj(m))


class Llama(nn.Module):
    def __init__(self, h, layers, heads, inter, vocab):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, h)
        self.layers = nn.ModuleList([Block(h, heads, inter) for _ in range(layers)])
        self.norm = RMSNorm(h)
        self.lm_head = nn.Linear(h, vocab, bias=False)
        self.head_dim = h // heads
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, 0.02)

    def forward(self, ids):
        x = self.embed_tokens(ids)
        cos, sin = rotary_tables(ids.shape[1], self.head_dim, x.dtype, x.device)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.norm(x))


class HandLoraLinear(nn.Module):
    """y = W x + s · B A x, with float32 A, B beside a frozen half-precision W (the smoke run's stand-in for PEFT)."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        self.scaling = alpha / r
        self.lora_A = nn.Linear(base.in_features, r, bias=False, dtype=torch.float32, device=base.weight.device)
        self.lora_B = nn.Linear(r, base.out_features, bias=False, dtype=torch.float32, device=base.weight.device)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scaling


def add_lora(model, r, alpha):
    """PEFT's LoRA when peft is installed, else the hand-written one. Returns (model, description)."""
    try:
        import peft
    except ImportError:
        for p in model.parameters():
            p.requires_grad_(False)
        for block in model.layers:
            for name in PROJECTIONS:
                setattr(block, name, HandLoraLinear(getattr(block, name), r, alpha))
        return model, "hand-written LoRA (peft is not installed: a check of the harness, not of PEFT)"
    config = peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=PROJECTIONS, bias="none")
    return peft.get_peft_model(model, config), f"peft {peft.__version__}, float32 adapters (autocast_adapter_dtype=True)"


def adamw(params, device):
    fused = device.type == "cuda" and tuple(int(v) for v in torch.__version__.split(".")[:2]) >= (2, 0)
    kwargs = {"fused": True} if fused else {}
    return torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0, **kwargs), "fused" if fused else "default"


def count_params(module, trainable_only=False):
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def run(shape, mode, args, device):
    name, h, layers, heads, inter, vocab, seq, batch = shape
    torch.manual_seed(0)
    model = Llama(h, layers, heads, inter, vocab).to(device=device, dtype=torch.bfloat16)
    frozen = count_params(model)  # all parameters of the base
    lora_impl = ""
    if mode == "lora":
        model, lora_impl = add_lora(model, args.rank, args.alpha)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer, optimizer_impl = adamw(trainable, device)
    ids = torch.randint(0, vocab, (batch, seq), device=device)
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16) if mode == "lora" else None

    def step():
        optimizer.zero_grad(set_to_none=True)
        if autocast is not None:
            with autocast:
                logits = model(ids)
                # Under autocast cross_entropy runs in float32 (autocast's float32 list).
                loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab), ids[:, 1:].reshape(-1))
        else:
            logits = model(ids)
            loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab).float(), ids[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        return loss

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        loss = step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            loss = step()
        sync()
        rates.append(batch * seq * args.steps / (time.perf_counter() - start))
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else 0
    return {
        "side": "pytorch", "shape": name, "mode": mode, "tok_s": statistics.median(rates), "tok_s_all": rates,
        "peak_bytes": peak, "base_params": frozen, "trainable_params": sum(p.numel() for p in trainable),
        "loss": float(loss), "lora_impl": lora_impl, "optimizer": optimizer_impl,
        "torch": torch.__version__, "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
    }


def parse_shape(text):
    parts = text.split(":")
    if len(parts) != 8:
        raise SystemExit(f"--shape {text!r}: expected name:hidden:layers:heads:intermediate:vocab:seq:batch")
    return [parts[0]] + [int(p) for p in parts[1:]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", action="append", type=parse_shape, required=True)
    parser.add_argument("--modes", default="lora,full")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--alpha", type=float, default=32)
    args = parser.parse_args()
    device = torch.device(args.device)
    for shape in args.shape:
        for mode in args.modes.split(","):
            try:
                result = run(shape, mode, args, device)
            except RuntimeError as e:  # out of memory on a small device: report, go on with the next
                result = {"side": "pytorch", "shape": shape[0], "mode": mode, "error": str(e).splitlines()[0]}
            print(json.dumps(result), flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())
