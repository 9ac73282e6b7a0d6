"""CPU comparison against the paper authors' own code path, side by side in one run.

The other side is what `finetune.py` / `finetune_sfr.py` of github.com/gmkim-ai/MoEKD do per step,
on their own LLaMA-MoE modeling (`llama_moe/` of that repository, imported from your checkout; not
part of this repository): teacher forwards under no_grad, their soft cross-entropy mixed 0.5/0.5
with the LM loss, KA as `set_moe_num_repeats(M)` + `set_moe_sampling_prob(lambda)` and M
sequential teacher forwards, SAR as a router step (routers trainable, teacher in train mode, all
experts, -sum q log p + the gate's balance loss) followed by the student step. AdamW, clip 1.0.

Shapes (the issue's): teacher LLaMA-MoE hidden 256, 16 experts of 64, top-4, 4 layers, 8 heads,
vocabulary 512; student Llama hidden 128, 2 layers, 4 heads; batch 8 x 128; float32; one thread
on both sides (OPENBLAS_NUM_THREADS=1, the same OPENBLAS_CORETYPE). The two models are saved as
Hugging Face folders, so `moekd bench distill` runs on the very same weights; the two sides
alternate for --rounds rounds and the median ratio is printed. `--precision bfloat16` runs both
teachers in bfloat16 (the dtype finetune.py loads theirs in) and both students under CPU autocast.

Set up once (outside this repository): a virtual environment with Debian's PyTorch and the
transformers release the authors' modeling needs, and their code:
    python3 -m venv --system-site-packages /tmp/venv-authors   # python3-torch from Debian
    /tmp/venv-authors/bin/pip install transformers==4.36.2
    git clone https://github.com/gmkim-ai/MoEKD /tmp/MoEKD
Run from the repository root, after building moekd:
    OPENBLAS_NUM_THREADS=1 /tmp/venv-authors/bin/python bench/reference/authors_cpu.py \
        --authors-repo /tmp/MoEKD --moekd build/app/moekd
"""
import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import types

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

BATCH, LENGTH, M, LAMBDA = 8, 128, 4, 0.1


def import_authors_modeling(repo):
    """Their llama_moe/ folder as a package (its modules import each other relatively). Their
    noisy gate puts its Normal distribution on torch.cuda.current_device() when it is built; on a
    machine without CUDA that device is the CPU (the one shim; their file is not modified)."""
    if not torch.cuda.is_available():
        torch.cuda.current_device = lambda: "cpu"
    folder = os.path.join(repo, "llama_moe")
    package = types.ModuleType("authors_llama_moe")
    package.__path__ = [folder]
    sys.modules["authors_llama_moe"] = package
    modules = {}
    for name in ("configuration_llama_moe", "modeling_llama_moe_hf"):
        spec = importlib.util.spec_from_file_location(f"authors_llama_moe.{name}", os.path.join(folder, f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules[name] = module
    return modules["configuration_llama_moe"].LlamaMoEConfig, modules["modeling_llama_moe_hf"].LlamaMoEForCausalLM


def build_pair(repo, out):
    from transformers import LlamaConfig, LlamaForCausalLM
    LlamaMoEConfig, LlamaMoEForCausalLM = import_authors_modeling(repo)
    torch.manual_seed(0)
    tcfg = LlamaMoEConfig(vocab_size=512, hidden_size=256, intermediate_size=1024, num_hidden_layers=4,
                          num_attention_heads=8, num_key_value_heads=8, num_experts=16, num_selects=4,
                          size_experts=[[64] * 16 for _ in range(4)], max_position_embeddings=512)
    teacher = LlamaMoEForCausalLM(tcfg).eval()
    scfg = LlamaConfig(vocab_size=512, hidden_size=128, intermediate_size=344, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512)
    student = LlamaForCausalLM(scfg)
    for model, name in ((teacher, "teacher"), (student, "student")):
        model.save_pretrained(os.path.join(out, name), safe_serialization=True)
    return teacher, student, LlamaMoEForCausalLM


def soft_ce(teacher_logits, logits, mask):
    # As finetune.py's get_distil_loss: masked mean of -sum softmax(t) log_softmax(s).
    t = F.softmax(teacher_logits, dim=-1, dtype=torch.float32)
    logprobs = F.log_softmax(logits, dim=-1, dtype=torch.float32)
    x = torch.masked_fill(t * logprobs, torch.isinf(logits), 0).sum(-1).view(-1)
    return -(x * mask.view(-1)).sum() / mask.view(-1).sum()


def authors_steps(pair, cls, dtype=torch.float32):
    """One step function per case, on fresh copies of the saved models. With dtype bfloat16 the
    teacher is loaded in it, as finetune.py loads it, and the student computes under CPU autocast."""
    from transformers import LlamaForCausalLM
    teacher_dir = f"{pair}/teacher"
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16)  # noqa: E731

    def load_teacher():
        return cls.from_pretrained(teacher_dir, torch_dtype=dtype)

    def fresh_student():
        s = LlamaForCausalLM.from_pretrained(f"{pair}/student").train()
        return s, torch.optim.AdamW(s.parameters(), lr=1e-4, weight_decay=0.01)

    def student_step(s, opt, teacher, ids, repeats):
        labels = ids[:, 1:]
        mask = torch.ones_like(labels, dtype=torch.int)
        with autocast():
            logits = s(ids).logits[:, :-1]
        lm = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), labels.reshape(-1))
        distil = 0
        for _ in range(repeats):
            with torch.no_grad():
                teacher.eval()
                t = teacher(input_ids=ids, use_cache=False).logits[:, :-1]
            distil = distil + soft_ce(t, logits, mask)
        loss = 0.5 * lm + 0.5 * distil / repeats
        loss.backward()
        torch.nn.utils.clip_grad_norm_(s.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    def kd():
        s, opt = fresh_student()
        teacher = load_teacher().eval()
        return lambda ids: student_step(s, opt, teacher, ids, 1)

    def ka():
        s, opt = fresh_student()
        teacher = load_teacher().eval()
        teacher.set_moe_old_num_selects(teacher.model.layers[0].mlp.num_selects)  # as get_teacher_model
        teacher.set_moe_num_repeats(M)
        teacher.set_moe_sampling_prob(LAMBDA)
        return lambda ids: student_step(s, opt, teacher, ids, M)

    def sar():
        s, opt = fresh_student()
        teacher = load_teacher()
        teacher.set_moe_num_selects(teacher.config.num_experts)  # every expert, as finetune_sfr.py
        routers = []
        for name, p in teacher.named_parameters():
            trainable = "gate.gate_network" in name or "gate.weight_noise" in name
            p.requires_grad_(trainable)
            if trainable:
                routers.append(p)
        router_opt = torch.optim.AdamW(routers, lr=1e-4, weight_decay=0.0)

        def step(ids):
            mask = torch.ones_like(ids[:, 1:], dtype=torch.int)
            teacher.train()
            out = teacher(input_ids=ids, use_cache=False)
            with torch.no_grad(), autocast():
                q = F.softmax(s(ids).logits[:, :-1], dim=-1, dtype=torch.float32)
            t = F.log_softmax(out.logits[:, :-1], dim=-1, dtype=torch.float32)
            router_loss = -((q * t).sum(-1).view(-1) * mask.view(-1)).sum() / mask.sum()
            if getattr(out, "balance_loss", None) is not None:
                router_loss = router_loss + out.balance_loss
            router_loss.backward()
            router_opt.step()
            router_opt.zero_grad(set_to_none=True)
            student_step(s, opt, teacher, ids, 1)
        return step

    return {"kd": kd, "ka": ka, "sar": sar}


def ours(moekd, pair, steps, precision):
    cmd = [moekd, "--threads", "1", "bench", "distill", "--teacher", f"{pair}/teacher", "--student",
           f"{pair}/student", "--batch", str(BATCH), "--seq-len", str(LENGTH), "--ka-m", str(M), "--ka-lambda",
           str(LAMBDA), "--steps", str(steps), "--precision", precision, "--cases", "kd,ka,ka_sequential,sar",
           "--json"]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--authors-repo", required=True, help="a checkout of github.com/gmkim-ai/MoEKD")
    ap.add_argument("--moekd", default="build/app/moekd")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                    help="bfloat16: both teachers stored and run in it, both students under autocast")
    ap.add_argument("--warmup-rounds", type=int, default=1, help="untimed rounds of their side first")
    ap.add_argument("--json")
    args = ap.parse_args()
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        sys.exit("run with OPENBLAS_NUM_THREADS=1: both sides on one thread")
    torch.set_num_threads(1)
    pair = tempfile.mkdtemp(prefix="moekd-authors-pair-")
    _, _, cls = build_pair(args.authors_repo, pair)
    steps = authors_steps(pair, cls, getattr(torch, args.precision))
    batches = common.random_batches(512, BATCH, LENGTH, 4, 0, torch.device("cpu"))
    tokens = BATCH * LENGTH * args.steps
    # Their first round in a fresh Python process ran at about half the speed of every later one
    # (each case, after its own warm-up steps): one untimed round first, so that what is compared
    # is the steady state a training run lives in. Ours warms up inside each `moekd bench` call.
    for _ in range(args.warmup_rounds):
        for make in steps.values():
            common.timed(make(), batches, 2, args.steps, torch.device("cpu"))
    rounds = []
    for r in range(args.rounds):
        theirs = {}
        for case, make in steps.items():
            seconds = common.timed(make(), batches, 2, args.steps, torch.device("cpu"))
            theirs[case] = tokens / seconds
        mine = ours(args.moekd, pair, args.steps, args.precision)
        ratios = {"kd": mine["kd"] / theirs["kd"], "ka": mine["ka"] / theirs["ka"],
                  "ka_sequential": mine["ka_sequential"] / theirs["ka"], "sar": mine["sar"] / theirs["sar"]}
        rounds.append({"authors": theirs, "moekd": {k: mine[k] for k in ratios}, "ratio": ratios})
        print(f"round {r + 1}: " + ", ".join(f"{k} {mine[k]:,.0f} vs {theirs['ka' if k == 'ka_sequential' else k]:,.0f}"
                                             f" tok/s = {v:.2f}x" for k, v in ratios.items()), flush=True)
    median = {k: statistics.median(r["ratio"][k] for r in rounds) for k in rounds[0]["ratio"]}
    print("median ratio (ours / authors'): " + ", ".join(f"{k} {v:.2f}x" for k, v in median.items()))
    print(f"{args.precision}, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(OpenBLAS chose)')}, "
          f"torch {torch.__version__}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": rounds, "median": median, "coretype": os.environ.get("OPENBLAS_CORETYPE")}, f, indent=2)


if __name__ == "__main__":
    main()
