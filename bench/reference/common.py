"""What both reference benchmarks share: random batches, timing, the FLOP model and the losses.

The FLOP model mirrors engine/model/flop_model.cpp (PaLM's convention: 2 FLOPs per multiply-add,
attention over the full length, backward = 2x forward), so that MFU here and in `moekd bench
distill` divide the same numerator by the same peak.
"""
import json
import os
import time

import torch
import torch.nn.functional as F

# Dense tensor-core peak, TFLOP/s: (bfloat16/float16, float32). The same table as
# engine/backend/system_info.cpp; first match of the device name wins.
PEAK_TFLOPS = [("H200", 989.4, 66.9), ("H100 PCIe", 756.0, 51.2), ("H100", 989.4, 66.9),
               ("GH200", 989.4, 66.9), ("B200", 2250.0, 80.0), ("A100", 312.0, 19.5),
               ("A800", 312.0, 19.5), ("L40S", 362.1, 91.6), ("L40", 181.0, 90.5),
               ("L4", 121.0, 30.3), ("A10G", 70.0, 31.2), ("A10", 125.0, 31.2),
               ("RTX 4090", 165.2, 82.6), ("V100", 125.0, 15.7), ("T4", 65.0, 8.1)]


def peak_flops(device, dtype):
    if os.environ.get("MOEKD_PEAK_TFLOPS"):
        return float(os.environ["MOEKD_PEAK_TFLOPS"]) * 1e12
    if device.type != "cuda":
        return 0.0
    name = torch.cuda.get_device_name(device)
    for key, half, single in PEAK_TFLOPS:
        if key in name:
            return (half if dtype in (torch.bfloat16, torch.float16) else single) * 1e12
    return 0.0


def shape(cfg):
    """The numbers the FLOP model needs from a transformers config (Mixtral, Llama, LLaMA-MoE)."""
    d = cfg.hidden_size
    heads = cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or d // heads
    kv = getattr(cfg, "num_key_value_heads", None) or heads
    experts = getattr(cfg, "num_local_experts", None) or getattr(cfg, "num_experts", 0) or 0
    if experts:
        top_k = getattr(cfg, "num_experts_per_tok", None) or getattr(cfg, "num_selects")
        sizes = getattr(cfg, "size_experts", None)
        if sizes:  # LLaMA-MoE: one list of expert widths per layer
            expert = sum(sum(layer) for layer in sizes) / (len(sizes) * len(sizes[0]))
        else:
            expert = cfg.intermediate_size
    else:
        top_k, expert = 0, 0
    return dict(d=d, q=heads * head_dim, kv=kv * head_dim, layers=cfg.num_hidden_layers,
                ffn=cfg.intermediate_size, experts=experts, top_k=top_k, expert=expert,
                vocab=cfg.vocab_size)


def forward_flops_per_token(s, length, experts_per_token=None):
    k = experts_per_token or s["top_k"]
    macs = 0.0
    for _ in range(s["layers"]):
        macs += s["d"] * (s["q"] + 2 * s["kv"]) + s["q"] * s["d"] + 2.0 * length * s["q"]
        if s["experts"]:
            macs += s["d"] * s["experts"] + k * 3 * s["d"] * s["expert"]
        else:
            macs += 3 * s["d"] * s["ffn"]
    macs += s["d"] * s["vocab"]
    return 2 * macs


def step_flops_per_token(method, teacher, student, length, ka_passes):
    student_step = 3 * forward_flops_per_token(student, length)
    if method == "kd":
        return student_step + forward_flops_per_token(teacher, length)
    if method == "ka":
        return student_step + ka_passes * forward_flops_per_token(teacher, length)
    if method == "sar":
        return student_step + 3 * forward_flops_per_token(teacher, length, teacher["experts"])
    raise ValueError(method)


def random_batches(vocab, batch, length, count, seed, device):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(0, vocab, (batch, length), generator=g).to(device) for _ in range(count)]


def soft_cross_entropy(teacher_logits, student_logits):
    """-sum softmax(t) log_softmax(s) per target token, mean over tokens (float32): the paper's KD
    loss. Its student gradient is forward KL's."""
    t = F.softmax(teacher_logits.float(), dim=-1)
    return -(t * F.log_softmax(student_logits.float(), dim=-1)).sum(-1).mean()


def shifted(logits):
    """Logits that predict the next token: every position but the last, as rows."""
    return logits[:, :-1].reshape(-1, logits.size(-1))


def timed(step, batches, warmup, steps, device):
    for i in range(warmup):
        step(batches[i % len(batches)])
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for i in range(steps):
        step(batches[i % len(batches)])
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def write_json(path, obj):
    if path:
        with open(path, "w") as f:
            json.dump(obj, f, indent=2)
    print(json.dumps(obj, indent=2))
