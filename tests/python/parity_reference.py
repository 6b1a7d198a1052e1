#!/usr/bin/env python3
"""PyTorch's answers for LoraLab's parity tests (tests/LoraLab.Tests/Parity), from Debian's /usr/bin/python3 with
torch 1.13: an implementation independent of the libtorch 2.10 that LoraLab runs on.

One process serves every test: it reads one request per line on stdin, a JSON object
    {"op": NAME, "input": PATH or null, "output": PATH, "args": {...}}
where INPUT is a safetensors file LoraLab wrote (the tensors the op needs), and answers one JSON line on stdout,
    {"ok": true, "json": {...}}      (the op's tensors, if any, written to OUTPUT as safetensors)
    {"ok": false, "error": "traceback"}
It first prints {"ready": torch version}. Everything here is written from the definitions (papers, transformers' and
LLM Foundry's schedule code, PEFT's layout), with PyTorch's own modules where PyTorch has them (torch.optim.AdamW,
torch.optim.SGD, torch.nn.utils.clip_grad_norm_, torch.linalg.svd, torch.nn.init.kaiming_uniform_).
"""
import json
import math
import os
import sys
import traceback

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True     # no __pycache__ in the source tree from the imports below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_parity  # noqa: E402  (the written-out Llama forward)
from safetensors_io import ELEMENT_SIZE, DTYPES, read_layout, read_safetensors, write_safetensors  # noqa: E402

OPS = {}


def op(fn):
    OPS[fn.__name__] = fn
    return fn


def leaf(t):
    return t.detach().clone().requires_grad_(True)


# ---- LoRA ----------------------------------------------------------------------------------------------------------

def lora_scaling(args):
    """PEFT's scaling: lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora (Kalajdzievski 2023)."""
    return args["lora_alpha"] / math.sqrt(args["r"]) if args["use_rslora"] else args["lora_alpha"] / args["r"]


def bf16_linear(x, w, b=None):
    """A bf16 linear layer as a bf16 kernel means it: products summed in float32, the result rounded once into bf16.
    Written with explicit casts because PyTorch 1.13's own CPU bf16 matmul sums in bf16 for some operand layouts (the
    backward's grad @ W among them: 1.6e-2 relative error for 48 terms, where float32 accumulation gives 2.7e-3), which
    later PyTorch and libtorch 2.x do not. Autograd sees the same casts: the gradient of a bf16 operand is computed in
    float32 and rounded into bf16, and a bf16 tensor used twice sums its two bf16 gradients in bf16."""
    return F.linear(x.float(), w.float(), None if b is None else b.float()).bfloat16()


@op
def lora(t, args):
    """y = x W^T + b + s (x A^T) B^T and its gradients w.r.t. x, A, B for the upstream gradient gy.
    mode "float64": everything in float64, written out by hand. mode "bf16": a bf16 base (W, b, x) with float32 factors
    cast to bf16 for the matmuls (what autocast does, and PEFT with autocast_adapter_dtype), each matmul a bf16 kernel
    with float32 accumulation (bf16_linear), the scaling and the sum bf16 elementwise ops."""
    s = lora_scaling(args)
    x, A, B = leaf(t["x"]), leaf(t["A"]), leaf(t["B"])
    W, b = t["W"], t.get("b")
    if args["mode"] == "float64":
        y = x @ W.T + (b if b is not None else 0) + s * ((x @ A.T) @ B.T)
    else:
        y = bf16_linear(x, W, b) + bf16_linear(bf16_linear(x, A.bfloat16()), B.bfloat16()) * s
    y.backward(t["gy"])
    return {"y": y.detach(), "grad_x": x.grad, "grad_A": A.grad, "grad_B": B.grad}, {"scaling": s}


@op
def kaiming(t, args):
    """What torch.nn.init.kaiming_uniform_(a=sqrt(5)) does to tensors of the given shapes (PEFT's Init[A] for lora_A
    [r, in], and the LoRA+ code's init for lora_B [out, r]): it draws bound * U(-1, 1). The bound is read off the draw
    itself (same seed, uniform_(-1, 1)), so it is PyTorch's code that speaks, not a formula copied from it."""
    out = []
    for shape in args["shapes"]:
        torch.manual_seed(1234)
        k = torch.nn.init.kaiming_uniform_(torch.empty(shape, dtype=torch.float64), a=math.sqrt(5))
        torch.manual_seed(1234)
        u = torch.empty(shape, dtype=torch.float64).uniform_(-1, 1)
        bound = (k / u).median().item()
        fan_in = torch.nn.init._calculate_correct_fan(torch.empty(shape), "fan_in")
        out.append({"shape": shape, "fan_in": fan_in, "bound": bound, "variance": bound * bound / 3,
                    "max_abs": k.abs().max().item(), "sample_variance": k.var().item()})
    return {}, {"draws": out}


@op
def pissa(t, args):
    """PiSSA (Meng et al. 2024) from torch.linalg.svd(W, full_matrices=False): A = sqrt(S_r/s) V_r^T,
    B = U_r sqrt(S_r/s), W' = W - s B A."""
    W, r, s = t["W"], args["r"], args["scaling"]
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    root = (S[:r] / s).sqrt()
    A = root[:, None] * Vh[:r]
    B = U[:, :r] * root[None, :]
    sBA = s * (B @ A)
    return {"A": A, "B": B, "sBA": sBA, "residual": W - sBA, "S": S}, {}


@op
def merge(t, args):
    """Merging folds s B A into W: W + s B A; outputs of the unmerged and merged layer for x."""
    W, A, B, x, s = t["W"], t["A"], t["B"], t["x"], args["scaling"]
    merged = W + s * (B @ A)
    return {"merged": merged, "y": x @ W.T + s * ((x @ A.T) @ B.T), "y_merged": x @ merged.T}, {}


# ---- optimizers ----------------------------------------------------------------------------------------------------

class Lion(torch.optim.Optimizer):
    """Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"), the update of lucidrains/lion-pytorch:
    p <- p (1 - lr wd);  p <- p - lr sign(b1 m + (1 - b1) g);  m <- b2 m + (1 - b2) g."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad, lr, wd = p.grad, group["lr"], group["weight_decay"]
                beta1, beta2 = group["betas"]
                state = self.state[p]
                if len(state) == 0:
                    state["exp_avg"] = torch.zeros_like(p)
                exp_avg = state["exp_avg"]
                p.data.mul_(1 - lr * wd)
                update = exp_avg.clone().mul_(beta1).add(grad, alpha=1 - beta1).sign_()
                p.add_(update, alpha=-lr)
                exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)


@op
def optimizer(t, args):
    """Runs an optimizer for len(lr_factors) steps: parameters "p.NAME", gradients "g.STEP.NAME", groups
    [{"params": [NAME..], "lr", "weight_decay"}]; step i runs with each group's lr times lr_factors[i]. Returns the
    parameters after each step as "p.STEP.NAME". mode "bf16": bf16 parameters, updated as mixed precision does it:
    the optimizer steps a float32 master copy (float32 state), whose value is rounded into the bf16 parameter."""
    kind, h, bf16 = args["kind"], args["hyper"], args["mode"] == "bf16"
    params = {name[2:]: t[name].clone() for name in t if name.startswith("p.")}
    masters = {n: (p.float() if bf16 else p) for n, p in params.items()}
    groups = [{"params": [masters[n] for n in g["params"]], "lr": g["lr"], "weight_decay": g["weight_decay"]}
              for g in args["groups"]]
    base_lr = [g["lr"] for g in args["groups"]]
    if kind == "adamw":
        opt = torch.optim.AdamW(groups, betas=(h["beta1"], h["beta2"]), eps=h["eps"], foreach=False)
    elif kind == "sgd":
        opt = torch.optim.SGD(groups, lr=base_lr[0], momentum=h["momentum"], dampening=h["dampening"],
                              nesterov=h["nesterov"], foreach=False)
    elif kind == "lion":
        opt = Lion(groups, betas=(h["beta1"], h["beta2"]))
    else:
        raise ValueError("unknown optimizer " + kind)
    out = {}
    for step, factor in enumerate(args["lr_factors"]):
        for g, lr in zip(opt.param_groups, base_lr):
            g["lr"] = lr * factor
        for n, m in masters.items():
            m.grad = t["g.%d.%s" % (step, n)].to(m.dtype)
        opt.step()
        for n, m in masters.items():
            out["p.%d.%s" % (step, n)] = m.detach().to(params[n].dtype).clone()
    return out, {}


@op
def clip(t, args):
    """torch.nn.utils.clip_grad_norm_ over parameters whose gradients are "g.NAME": the total 2-norm before clipping,
    and the gradients after."""
    names = sorted(n[2:] for n in t if n.startswith("g."))
    params = []
    for n in names:
        p = torch.zeros_like(t["g." + n])
        p.grad = t["g." + n].clone()
        params.append(p)
    norm = torch.nn.utils.clip_grad_norm_(params, args["max_norm"])
    return {"g." + n: p.grad for n, p in zip(names, params)}, {"norm": norm.item()}


# ---- schedules -----------------------------------------------------------------------------------------------------

def warmup_steps(total, ratio):
    """transformers' TrainingArguments.get_warmup_steps: ceil(num_training_steps * warmup_ratio)."""
    return math.ceil(total * ratio)


def linear_schedule(total, warmup):
    """transformers' get_linear_schedule_with_warmup lr_lambda."""
    def f(current_step):
        if current_step < warmup:
            return float(current_step) / float(max(1, warmup))
        return max(0.0, float(total - current_step) / float(max(1, total - warmup)))
    return f


def cosine_schedule(total, warmup, min_lr_rate=0.0, num_cycles=0.5):
    """transformers' get_cosine_schedule_with_warmup (min_lr_rate = 0) and get_cosine_with_min_lr_schedule_with_warmup
    (min_lr_rate = min_lr / lr) lr_lambda."""
    def f(current_step):
        if current_step < warmup:
            return float(current_step) / float(max(1, warmup))
        progress = float(current_step - warmup) / float(max(1, total - warmup))
        factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        factor = factor * (1 - min_lr_rate) + min_lr_rate
        return max(0.0, factor)
    return f


def inverse_sqrt_schedule(t_warmup, t_scale, t_cooldown, t_max, alpha_f_decay, alpha_f_cooldown):
    """LLM Foundry's InverseSquareRootWithWarmupScheduler (llmfoundry/optim/scheduler.py), in steps: linear warmup
    t / t_warmup; then alpha_f_decay + coeff (1 - alpha_f_decay) with coeff = 1 / ((t + t_scale - t_warmup) / t_scale) ** 0.5;
    from the cooldown start max(t_warmup, t_max - t_cooldown), alpha_i + frac (alpha_f_cooldown - alpha_i), with alpha_i
    the decay's value at the cooldown start and frac = min(1, (t - start) / t_cooldown)."""
    t_shift = t_scale - t_warmup
    t_cooldown_start = max(t_warmup, t_max - t_cooldown)

    def f(t):
        if t < t_warmup:
            return min(1.0, t / t_warmup)           # composer's LinearScheduler(alpha_i=0, alpha_f=1, t_max=t_warmup)
        if t < t_cooldown_start:
            coeff = 1 / ((t + t_shift) / t_scale) ** 0.5
            return alpha_f_decay + coeff * (1.0 - alpha_f_decay)
        coeff = 1 / ((t_cooldown_start + t_shift) / t_scale) ** 0.5
        alpha_i = alpha_f_decay + coeff * (1.0 - alpha_f_decay)
        if t_cooldown == 0:
            return alpha_i
        frac_of_cooldown = min(1.0, (t - t_cooldown_start) / t_cooldown)
        return alpha_i + frac_of_cooldown * (alpha_f_cooldown - alpha_i)
    return f


@op
def schedules(t, args):
    values = []
    for spec in args["schedules"]:
        if spec["kind"] == "linear":
            f = linear_schedule(spec["total"], warmup_steps(spec["total"], spec["warmup_ratio"]))
        elif spec["kind"] == "cosine":
            f = cosine_schedule(spec["total"], warmup_steps(spec["total"], spec["warmup_ratio"]), spec["min_ratio"])
        else:
            f = inverse_sqrt_schedule(spec["warmup"], spec["timescale"], spec["cooldown"], spec["total"],
                                      spec["alpha_f_decay"], spec["alpha_f_cooldown"])
        values.append([f(step) for step in range(spec["steps"])])
    return {}, {"values": values}


# ---- Llama ---------------------------------------------------------------------------------------------------------

def next_token_loss(logits, labels):
    """transformers' causal-LM loss: position t predicts labels[t + 1], mean over labels != -100."""
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), labels[:, 1:].reshape(-1), ignore_index=-100)


@op
def llama(t, args):
    """Logits, next-token loss and the gradient of the loss w.r.t. every parameter of the checkpoint in args["dir"]
    (config.json + model.safetensors, read here), with the written-out forward of llama_parity.py. args["rope"]: "hf"
    (Hugging Face's float32 RoPE tables), or "given" (the tables are the inputs "cos" and "sin")."""
    with open(os.path.join(args["dir"], "config.json")) as f:
        config = json.load(f)
    weights = {k: leaf(v.double()) for k, v in read_safetensors(os.path.join(args["dir"], "model.safetensors")).items()}
    tables = (t["cos"].double(), t["sin"].double()) if args["rope"] == "given" else None
    logits = llama_parity.reference_logits(config, weights, t["input_ids"].long(), rope=args["rope"], tables=tables)
    loss = next_token_loss(logits, t["labels"].long())
    loss.backward()
    out = {"logits": logits.detach(), "loss": loss.detach().reshape(1)}
    out.update({"grad." + k: v.grad for k, v in weights.items()})
    return out, {}


@op
def rotary(t, args):
    """Hugging Face's float32 RoPE tables (cos, sin [T, D]), and as a diagnostic the same built with inv_freq =
    1 / exp(2i/d ln theta) (cos_exp, sin_exp)."""
    cos, sin = llama_parity.rotary_tables(args["T"], args["D"], args["theta"], rope="hf")
    cos_exp, sin_exp = llama_parity.rotary_tables(args["T"], args["D"], args["theta"], rope="exp")
    return {"cos": cos.float(), "sin": sin.float(), "cos_exp": cos_exp.float(), "sin_exp": sin_exp.float()}, {}


# ---- checkpoints ---------------------------------------------------------------------------------------------------

def bits(tensor):
    """Each element's bit pattern as an unsigned integer (exact for every dtype, NaNs and -0.0 included)."""
    size = tensor.element_size()
    unsigned = {8: torch.int64, 4: torch.int32, 2: torch.int16, 1: torch.uint8}[size]
    raw = tensor.contiguous().view(unsigned) if tensor.dtype != torch.bool else tensor.to(torch.uint8)
    mask = (1 << (8 * size)) - 1
    return [int(v) & mask for v in raw.reshape(-1).tolist()]


def describe(tensors):
    return {name: {"dtype": str(x.dtype).replace("torch.", ""), "shape": list(x.shape), "bits": bits(x)}
            for name, x in tensors.items()}


@op
def safetensors_read(t, args):
    """Reads the file at args["path"] with the spec's reader and reports its layout and every tensor's bits."""
    n, header, data, raw = read_layout(args["path"])
    problems = []
    if (8 + n) % 8 != 0:
        problems.append("the data section starts at byte %d, not 8-byte aligned" % (8 + n))
    text = raw[8:8 + n].decode("utf-8")
    if not text.rstrip(" ").endswith("}"):
        problems.append("the header JSON is followed by something other than space padding")
    end = 0
    for name, info in sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"]):
        begin, stop = info["data_offsets"]
        if begin != end:
            problems.append("%s starts at %d, expected %d" % (name, begin, end))
        if info["dtype"] not in DTYPES:
            problems.append("%s has dtype %s, not in the spec" % (name, info["dtype"]))
        elif stop - begin != math.prod(info["shape"]) * ELEMENT_SIZE[info["dtype"]]:
            problems.append("%s spans %d bytes, its shape and dtype need %d"
                            % (name, stop - begin, math.prod(info["shape"]) * ELEMENT_SIZE[info["dtype"]]))
        end = stop
    if end != len(data):
        problems.append("the tensors cover %d bytes, the data section holds %d" % (end, len(data)))
    tensors = read_safetensors(args["path"])
    return {}, {"header_length": n, "file_length": len(raw), "header": header, "problems": problems,
                "tensors": describe(tensors)}


@op
def safetensors_write(t, args):
    """Writes, by hand and per the spec, a file with one tensor of every dtype (special values included), in an order
    that is not sorted, with metadata; reports what it wrote."""
    torch.manual_seed(7)
    floats = torch.tensor([0.0, -0.0, 1.0, -2.5, 1e-3, 65504.0, float("inf"), float("-inf"), float("nan"), 3.14159],
                          dtype=torch.float64)
    tensors = {
        "f64": torch.cat([floats, torch.randn(14, dtype=torch.float64)]).reshape(2, 3, 4),
        "f32": torch.cat([floats, torch.tensor([1e-40, -1e-45]), torch.randn(4)]).float().reshape(4, 4),
        "bf16": torch.cat([floats, torch.randn(5, dtype=torch.float64)]).bfloat16().reshape(15),
        "f16": torch.cat([floats, torch.tensor([6e-8, -6.1e-5])]).half().reshape(3, 4),
        "i64": torch.tensor([0, -1, 2**62, -2**63, 2**63 - 1, 12345], dtype=torch.int64).reshape(2, 3),
        "i32": torch.tensor([0, -1, 2**31 - 1, -2**31, 7], dtype=torch.int32),
        "i16": torch.tensor([[0, -1], [32767, -32768]], dtype=torch.int16),
        "i8": torch.tensor([0, -1, 127, -128, 5], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8).reshape(2, 2),
        "bool": torch.tensor([True, False, False, True, True], dtype=torch.bool),
        "scalar": torch.tensor(2.5, dtype=torch.float32),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }
    order = ["u8", "f64", "bool", "empty", "bf16", "i64", "scalar", "f16", "i8", "f32", "i32", "i16"]
    write_safetensors(args["path"], tensors, metadata={"format": "pt", "written_by": "parity_reference.py"}, order=order)
    return {}, {"tensors": describe(tensors)}


PEFT_CONFIG_FIELDS = {   # PEFT's LoraConfig fields LoraLab writes, with the JSON types PEFT reads them as
    "peft_type": str, "task_type": str, "base_model_name_or_path": str, "r": int, "lora_alpha": (int, float),
    "lora_dropout": (int, float), "target_modules": list, "use_rslora": bool, "init_lora_weights": (bool, str),
    "bias": str, "fan_in_fan_out": bool, "modules_to_save": (list, type(None)), "inference_mode": bool, "use_dora": bool,
}


@op
def peft(t, args):
    """Reads a PEFT adapter folder (adapter_config.json + adapter_model.safetensors) as PEFT lays it out, applies it to
    the base checkpoint (W + s B A per adapted module) and returns the adapted model's logits for input_ids (RoPE tables
    as in the llama op)."""
    problems = []
    with open(os.path.join(args["adapter"], "adapter_config.json")) as f:
        config = json.load(f)
    for field, kind in PEFT_CONFIG_FIELDS.items():
        if field not in config:
            problems.append("adapter_config.json lacks " + field)
        elif not isinstance(config[field], kind):
            problems.append("adapter_config.json: %s is %r" % (field, config[field]))
    if config.get("peft_type") != "LORA":
        problems.append("peft_type is %r" % config.get("peft_type"))
    if config.get("bias") != "none" or config.get("fan_in_fan_out") or config.get("use_dora"):
        problems.append("bias / fan_in_fan_out / use_dora are not plain LoRA's")
    adapter = read_safetensors(os.path.join(args["adapter"], "adapter_model.safetensors"))
    with open(os.path.join(args["base"], "config.json")) as f:
        base_config = json.load(f)
    base = {k: v.double() for k, v in read_safetensors(os.path.join(args["base"], "model.safetensors")).items()}
    r, s = config["r"], lora_scaling(config)
    adapted = []
    prefix = "base_model.model."
    for key in sorted(adapter):
        if not key.startswith(prefix) or not key.endswith((".lora_A.weight", ".lora_B.weight")):
            problems.append("unexpected key " + key)
            continue
        if key.endswith(".lora_B.weight"):
            continue
        module = key[len(prefix):-len(".lora_A.weight")]
        A, B = adapter[key].double(), adapter.get(prefix + module + ".lora_B.weight")
        W = base.get(module + ".weight")
        if B is None or W is None:
            problems.append("no lora_B or no base weight for " + module)
            continue
        B = B.double()
        if list(A.shape) != [r, W.shape[1]] or list(B.shape) != [W.shape[0], r]:
            problems.append("%s: lora_A %s, lora_B %s for a weight %s (PEFT: A [r, in], B [out, r])"
                            % (module, list(A.shape), list(B.shape), list(W.shape)))
            continue
        if module.split(".")[-1] not in config["target_modules"]:
            problems.append("%s is adapted but %s is not in target_modules" % (module, module.split(".")[-1]))
        base[module + ".weight"] = W + s * (B @ A)
        adapted.append(module)
    tables = (t["cos"].double(), t["sin"].double()) if args["rope"] == "given" else None
    logits = llama_parity.reference_logits(base_config, base, t["input_ids"].long(), rope=args["rope"], tables=tables)
    return {"logits": logits}, {"problems": problems, "adapted": adapted, "scaling": s, "config": config}


def main():
    torch.set_num_threads(1)
    print(json.dumps({"ready": torch.__version__}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            tensors = read_safetensors(request["input"]) if request.get("input") else {}
            out_tensors, out_json = OPS[request["op"]](tensors, request.get("args") or {})
            if out_tensors:
                write_safetensors(request["output"], out_tensors)
            reply = {"ok": True, "json": out_json}
        except Exception:  # noqa: BLE001  (the test shows the traceback)
            reply = {"ok": False, "error": traceback.format_exc()}
        print(json.dumps(reply, allow_nan=False), flush=True)


if __name__ == "__main__":
    main()
