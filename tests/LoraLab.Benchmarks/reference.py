"""The PyTorch side of ./lab bench (tests/LoraLab.Benchmarks/Program.cs, StepBenchmark.cs): plain PyTorch, no LoraLab.

Program.cs starts this script as a child process, one per thread count, and drives it over stdin/stdout, one JSON object
a line, so that it can interleave the repetitions of the two sides (a load that comes and goes on a shared machine
then hits both alike):

    python3 reference.py --threads N
    <- {"ready": true, "torch": "1.13.0a0", "threads": N, "blas": "..."}
    -> {"op": "setup", "case": "lora", "spec": {...}}    <- {"ok": true, "info": {...}}   (builds the case)
    -> {"op": "run", "case": "lora", "iterations": n}     <- {"wall_us": x, "cpu_us": y}   (per iteration)
    -> {"op": "phases", "case": "lora", "iterations": n, "repeats": k}   <- {"phases": [{"name": .., "wall_us": ..}, ..]}
    -> {"op": "quit"}

A failure answers {"error": "..."}. Times: wall clock (time.perf_counter) and this process's CPU time
(time.process_time, all its threads), in microseconds per iteration; the C# side measures the same two clocks.

The cases, each the same shapes and operations as its C# twin in StepBenchmark.cs:
    add, chain, mlp  per-operation overhead on tiny tensors
    lora             a frozen Linear with a hand-written LoRA (Init[A]), AdamW with LoRA+'s two groups, one step
    adamw            torch.optim.AdamW over many small parameters whose gradients are set (foreach=False)
    quick            a training step of a Llama (LoraLab's architecture, written out here) with the quick base's shape
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- the cases: each returns (phases, info): phases, a list of (name, function), run in order once per iteration (a
# training step's zero_grad, forward, backward, step; one phase for the per-op cases), and a dict about the case ----

def case_add(spec):
    a, b = torch.randn(4), torch.randn(4)

    def add():
        c = a + b
    return [("add", add)], {}


def case_chain(spec):
    a, b = torch.randn(4), torch.randn(4)

    def chain():
        c = ((a * b + a).relu()).sum()
    return [("chain", chain)], {}


def case_mlp(spec):
    x, y = torch.randn(16, 32), torch.randn(16, 1)
    w1 = (torch.randn(64, 32) * 0.1).requires_grad_()
    w2 = (torch.randn(1, 64) * 0.1).requires_grad_()

    def mlp():
        loss = F.mse_loss(F.linear(F.linear(x, w1).relu(), w2), y)
        loss.backward()
        w1.grad = None
        w2.grad = None
    return [("mlp", mlp)], {}


class LoraLinear(nn.Module):
    """y = W x + b + s · B A x: a frozen nn.Linear with LoRA factors A [r, in] (kaiming-uniform, a = √5) and B [out, r] (zero)."""

    def __init__(self, features, r, alpha):
        super().__init__()
        self.base = nn.Linear(features, features)
        self.base.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.empty(r, features))
        self.lora_B = nn.Parameter(torch.zeros(features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = alpha / r

    def forward(self, x):
        return F.linear(x, self.base.weight, self.base.bias) + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scaling


def case_lora(spec):
    torch.manual_seed(0)
    layer = LoraLinear(spec["features"], spec["r"], spec["alpha"])
    x, y = torch.randn(spec["batch"], spec["features"]), torch.randn(spec["batch"], spec["features"])
    # LoRA+: B learns at lr_ratio times A's rate.
    optimizer = torch.optim.AdamW([{"params": [layer.lora_A], "lr": spec["lr"]},
                                   {"params": [layer.lora_B], "lr": spec["lr"] * spec["lr_ratio"]}],
                                  weight_decay=spec["weight_decay"], foreach=False)

    return training_step(optimizer, lambda: F.mse_loss(layer(x), y)), {
        "trainable": sum(p.numel() for p in layer.parameters() if p.requires_grad), "params": sum(p.numel() for p in layer.parameters())}


def case_adamw(spec):
    torch.manual_seed(0)
    params = [torch.randn(spec["rows"], spec["cols"], requires_grad=True) for _ in range(spec["count"])]
    for p in params:
        p.grad = torch.randn_like(p)
    optimizer = torch.optim.AdamW(params, lr=spec["lr"], weight_decay=spec["weight_decay"], foreach=False)

    return [("step", optimizer.step)], {"params": sum(p.numel() for p in params), "tensors": len(params)}


# ---- a Llama with LoraLab's architecture (Models/Llama.cs): pre-norm RMSNorm with float32 statistics, rotary
# positions (rotate_half), causal attention, SwiGLU, Hugging Face's parameter names and N(0, 0.02) init ----

class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        h = x.float()
        return self.weight * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


def rotary_tables(length, head_dim, theta, dtype):
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    freqs = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    angles = torch.cat([freqs, freqs], -1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    return x * cos + torch.cat([-x[..., half:], x[..., :half]], -1) * sin


def causal_attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0, as LoraLab's libtorch
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    # torch 1.13 has no fused attention: the formula written out.
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    causal = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
    return scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(h, h, bias=False) for _ in range(4))

    def forward(self, x, cos, sin):
        B, T, C = x.shape
        heads = lambda proj: proj(x).view(B, T, self.heads, C // self.heads).transpose(1, 2)
        y = causal_attention(rotate(heads(self.q_proj), cos, sin), rotate(heads(self.k_proj), cos, sin), heads(self.v_proj))
        return self.o_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, inter = c["hidden_size"], c["intermediate_size"]
        self.gate_proj = nn.Linear(h, inter, bias=False)
        self.up_proj = nn.Linear(h, inter, bias=False)
        self.down_proj = nn.Linear(inter, h, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.mlp = MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return h + self.mlp(self.post_attention_layernorm(h))


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        if (c.get("num_key_value_heads") or c["num_attention_heads"]) != c["num_attention_heads"]:
            raise ValueError("grouped-query attention is not written out here")
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.lm_head = None if c["tie_word_embeddings"] else nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, 0.0, c["initializer_range"])

    def forward(self, ids):
        x = self.embed_tokens(ids)
        cos, sin = rotary_tables(ids.shape[1], self.c["hidden_size"] // self.c["num_attention_heads"], self.c["rope_theta"], x.dtype)
        for layer in self.layers:
            x = layer(x, cos, sin)
        h = self.norm(x)
        return F.linear(h, self.embed_tokens.weight) if self.lm_head is None else self.lm_head(h)


def case_quick(spec):
    torch.manual_seed(0)
    c = spec["config"]
    model = LlamaForCausalLM(c)
    V = c["vocab_size"]
    ids = torch.randint(0, V, (spec["batch"], spec["context"]))
    optimizer = torch.optim.AdamW(model.parameters(), lr=spec["lr"], betas=(spec["beta1"], spec["beta2"]),
                                  weight_decay=spec["weight_decay"], foreach=False)

    def loss():
        logits = model(ids)
        return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
    phases = training_step(optimizer, loss)
    run(phases, 1)
    return phases, {"params": sum(p.numel() for p in model.parameters()), "tensors": len(list(model.parameters())),
                    "loss": phases.last_loss(), "attention": "sdpa" if hasattr(F, "scaled_dot_product_attention") else "written out (no SDPA in this torch)"}


class Phases(list):
    """A training step's phases, keeping the last loss."""
    state = None

    def last_loss(self):
        return self.state["loss"].item()


def training_step(optimizer, compute_loss):
    """zero_grad (set_to_none, PyTorch 2's default and its cheapest), forward, backward, step."""
    state = {}

    def forward():
        state["loss"] = compute_loss()

    phases = Phases([("zero_grad", lambda: optimizer.zero_grad(set_to_none=True)), ("forward", forward),
                     ("backward", lambda: state["loss"].backward()), ("step", optimizer.step)])
    phases.state = state
    return phases


def run(phases, n):
    for _ in range(n):
        for _, action in phases:
            action()


def phase_times(phases, n, repeats):
    """Each phase's wall time per iteration, timed one by one, median over repeats (microseconds)."""
    times = [[] for _ in phases]
    for _ in range(repeats):
        sums = [0.0] * len(phases)
        for _ in range(n):
            for i, (_, action) in enumerate(phases):
                start = time.perf_counter()
                action()
                sums[i] += time.perf_counter() - start
        for i in range(len(phases)):
            times[i].append(sums[i] / n * 1e6)
    return [{"name": name, "wall_us": sorted(t)[len(t) // 2]} for (name, _), t in zip(phases, times)]


CASES = {"add": case_add, "chain": case_chain, "mlp": case_mlp, "lora": case_lora, "adamw": case_adamw, "quick": case_quick}


def blas():
    """The BLAS this process loaded, in words: on the CPU, matmul speed depends on it more than on anything else."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line}
    except OSError:
        paths = set()
    for path in sorted(paths):
        name = os.path.basename(path)
        if "openblas" in name:
            return f"OpenBLAS ({path})"
        if "mkl" in name:
            return f"MKL ({path})"
        if "blis" in name:
            return f"BLIS ({path})"
    for path in sorted(paths):
        if "/blas/libblas.so" in path:
            return f"netlib reference BLAS, unoptimized ({path})"
    if torch.backends.mkl.is_available():
        return "MKL (linked in)"
    found = sorted(p for p in paths if "blas" in os.path.basename(p))
    return ", ".join(found) or "unknown"


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description="the PyTorch side of ./lab bench (see the module docstring)")
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    # Warm the BLAS up so that the library shows in the process's maps.
    torch.randn(8, 8) @ torch.randn(8, 8)
    reply({"ready": True, "torch": torch.__version__, "python": sys.version.split()[0], "threads": torch.get_num_threads(), "blas": blas()})
    built = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            op = command.get("op")
            if op == "quit":
                return 0
            if op == "setup":
                phases, info = CASES[command["case"]](command.get("spec", {}))
                built[command["case"]] = phases
                reply({"ok": True, "info": info})
            elif op == "run":
                phases, n = built[command["case"]], int(command["iterations"])
                wall, cpu = time.perf_counter(), time.process_time()
                run(phases, n)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                reply({"wall_us": wall / n * 1e6, "cpu_us": cpu / n * 1e6})
            elif op == "phases":
                reply({"phases": phase_times(built[command["case"]], int(command["iterations"]), int(command["repeats"]))})
            else:
                reply({"error": f"unknown op {op!r}"})
        except Exception as e:  # answer, and let the C# side decide
            reply({"error": f"{type(e).__name__}: {e}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
