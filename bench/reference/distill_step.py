"""The comparison side of `moekd bench distill`: one distillation step written the way people write
it today, with PyTorch and Hugging Face `transformers`.

Teacher: a Mixtral-style MoE (`transformers` MixtralForCausalLM), stored and run in bfloat16.
Student: a Llama (LlamaForCausalLM) with float32 master weights, computing in bfloat16 under
autocast, AdamW. Loss: 0.5 CE + 0.5 soft cross-entropy against the teacher (forward KL's gradient),
the paper's off-policy recipe and our default.
  kd:  one teacher forward (no grad) per step.
  ka:  M teacher forwards one after another, as the paper's code does, each with the routers
       sampling k experts without replacement from softmax(logits) for a fraction lambda of the
       tokens; the loss averaged over the M teachers.
  sar: every expert on (top_k = E), routers float32 and trainable: a router step (teacher with
       router gradients, student without, loss -sum q log p + 0.01 balance loss) then a student step
       against the updated teacher.
Same shapes, data length and precision as `moekd bench distill`; prints tokens/s and MFU per case.

  python3 bench/reference/distill_step.py --teacher T --student S --batch 8 --seq-len 512 --json out.json

T and S are folders with a config.json (weights optional: without them the models are initialised
at random, which costs the same).
"""
import argparse
import copy
import os
import sys

import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModelForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def load(folder, dtype, device, **overrides):
    cfg = AutoConfig.from_pretrained(folder)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    has_weights = any(f.endswith(".safetensors") for f in os.listdir(folder))
    if has_weights:
        return AutoModelForCausalLM.from_pretrained(folder, config=cfg, dtype=dtype).to(device), cfg
    torch.manual_seed(0)
    with torch.device(device):  # initialised where it runs: a 2B-parameter teacher in seconds
        return AutoModelForCausalLM.from_config(cfg, dtype=dtype), cfg


def routers(teacher):
    return [m for name, m in teacher.named_modules() if name.endswith("block_sparse_moe.gate") or name.endswith("mlp.gate")]


def sample_routing(gate, lam):
    """KA's router: for a fraction `lam` of the tokens, k experts drawn without replacement from
    softmax(logits); top-k otherwise. Mixtral's weights: the chosen probabilities renormalised."""
    def forward(hidden_states):
        hidden_states = hidden_states.reshape(-1, gate.hidden_dim)
        logits = F.linear(hidden_states, gate.weight)
        probs = F.softmax(logits.float(), dim=-1)
        top = torch.topk(probs, gate.top_k, dim=-1).indices
        drawn = torch.multinomial(probs, gate.top_k, replacement=False)
        sampled = torch.rand(probs.size(0), 1, device=probs.device) < lam
        index = torch.where(sampled, drawn, top)
        weights = probs.gather(1, index)
        return logits, weights / weights.sum(-1, keepdim=True), index
    gate.forward = forward


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--student", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--ka-m", type=int, default=4)
    ap.add_argument("--ka-lambda", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--cases", default="kd,ka,sar")
    ap.add_argument("--profile", action="store_true", help="print the profiler's top operators of one kd step")
    ap.add_argument("--json")
    args = ap.parse_args()

    device = torch.device(args.device)
    half = torch.bfloat16 if device.type == "cuda" else torch.float32
    autocast = lambda: torch.autocast(device.type, dtype=half, enabled=half != torch.float32)  # noqa: E731
    student0, scfg = load(args.student, torch.float32, device)
    teacher_cfg = AutoConfig.from_pretrained(args.teacher)
    vocab = teacher_cfg.vocab_size
    batches = common.random_batches(vocab, args.batch, args.seq_len, 4, 0, device)
    tshape, sshape = common.shape(teacher_cfg), common.shape(scfg)
    peak = common.peak_flops(device, half)
    out = dict(device=str(device), precision=str(half).replace("torch.", ""), batch=args.batch,
               seq_len=args.seq_len, ka_m=args.ka_m, ka_lambda=args.ka_lambda, peak_flops=peak,
               flops_per_token={}, mfu={}, peak_memory={},
               torch=torch.__version__, transformers=__import__("transformers").__version__)

    for case in args.cases.split(","):
        torch.manual_seed(0)
        student = copy.deepcopy(student0).train()
        opt = torch.optim.AdamW(student.parameters(), lr=1e-4, weight_decay=0.01)
        if case == "sar":
            teacher, _ = load(args.teacher, half, device, num_experts_per_tok=tshape["experts"],
                              output_router_logits=True)
            gates = [g.weight for g in routers(teacher)]
            for p in teacher.parameters():
                p.requires_grad_(False)
            for w in gates:
                w.data = w.data.float()
                w.requires_grad_(True)
            router_opt = torch.optim.AdamW(gates, lr=1e-4, weight_decay=0.0)
        else:
            teacher, _ = load(args.teacher, half, device)
            teacher.requires_grad_(False)
            if case == "ka":
                for g in routers(teacher):
                    sample_routing(g, args.ka_lambda)
        teacher.eval()
        torch.cuda.reset_peak_memory_stats(device) if device.type == "cuda" else None

        def student_step(ids, teacher_logits_fn):
            targets = ids[:, 1:].reshape(-1)
            with autocast():
                logits = common.shifted(student(ids).logits)
            ce = F.cross_entropy(logits.float(), targets)
            kd = teacher_logits_fn(ids, logits)
            loss = 0.5 * ce + 0.5 * kd
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

        def kd_term(ids, logits):
            with torch.no_grad(), autocast():
                t = common.shifted(teacher(ids).logits)
            return common.soft_cross_entropy(t, logits)

        def ka_term(ids, logits):
            total = 0.0
            for _ in range(args.ka_m):  # the paper's loop: one teacher forward per pass
                with torch.no_grad(), autocast():
                    t = common.shifted(teacher(ids).logits)
                total = total + common.soft_cross_entropy(t, logits)
            return total / args.ka_m

        def sar_step(ids):
            with autocast():
                t_out = teacher(ids)
            with torch.no_grad(), autocast():
                q = F.softmax(common.shifted(student(ids).logits).float(), dim=-1)
            router_loss = -(q * F.log_softmax(common.shifted(t_out.logits).float(), -1)).sum(-1).mean()
            (router_loss + 0.01 * t_out.aux_loss.float()).backward()
            router_opt.step()
            router_opt.zero_grad(set_to_none=True)
            student_step(ids, kd_term)

        step = {"kd": lambda ids: student_step(ids, kd_term),
                "ka": lambda ids: student_step(ids, ka_term),
                "sar": sar_step}[case]
        seconds = common.timed(step, batches, 2, args.steps, device)
        tokens_per_s = args.steps * args.batch * args.seq_len / seconds
        flops = common.step_flops_per_token(case, tshape, sshape, args.seq_len, args.ka_m)
        out[case] = tokens_per_s
        out["flops_per_token"][case] = flops
        if peak:
            out["mfu"][case] = flops * tokens_per_s / peak
        if device.type == "cuda":
            out["peak_memory"][case] = torch.cuda.max_memory_allocated(device)
        print(f"reference {case}: {tokens_per_s:,.0f} tokens/s"
              + (f", MFU {100 * out['mfu'][case]:.1f}%" if peak else ""), flush=True)
        if args.profile and case == "kd":
            from torch.profiler import ProfilerActivity, profile
            acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
            with profile(activities=acts) as prof:
                for i in range(3):
                    step(batches[i % len(batches)])
                torch.cuda.synchronize(device) if device.type == "cuda" else None
            key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
            print(prof.key_averages().table(sort_by=key, row_limit=15), flush=True)
        del teacher, student, opt
        if device.type == "cuda":
            torch.cuda.empty_cache()
    common.write_json(args.json, out)


if __name__ == "__main__":
    main()
