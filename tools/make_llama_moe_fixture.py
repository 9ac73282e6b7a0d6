#!/usr/bin/env python3
"""Generate the tiny LLaMA-MoE parity fixture in ``tests/data/hf/llama_moe/``.

The reference is computed by the LLaMA-MoE project's *own* Hugging Face-format
modeling code (``LlamaMoEForCausalLM`` / ``LlamaMoEConfig`` from
``smoe/models/llama_moe/{modeling_llama_moe_hf,configuration_llama_moe}.py`` of
https://github.com/pjlab-sys4nlp/llama-moe). That code is not part of this
repository and is not copied into it: you pass the path of your own checkout
with ``--llama-moe-repo`` and the two files are imported from there (as a
stand-alone package, the way ``trust_remote_code`` would load them, so none of
the toolkit's other heavy dependencies are needed).

Set up (once; both the venv and the checkout live outside this repository).
The modeling file needs transformers 4.36.x (it uses ``Cache``/``DynamicCache``,
``_prepare_4d_causal_attention_mask_for_sdpa`` and ``config._attn_implementation``,
which appeared in 4.36)::

    python3 -m venv /work/venv-llamamoe
    /work/venv-llamamoe/bin/pip install -r tools/requirements-llama-moe.txt
    git clone https://github.com/pjlab-sys4nlp/llama-moe /work/scratch/llama-moe
    git -C /work/scratch/llama-moe checkout b17aff436cce58e2fcd7327789c7fadafe15d19e  # HEAD used

Run (from the repository root)::

    /work/venv-llamamoe/bin/python tools/make_llama_moe_fixture.py \\
        --llama-moe-repo /work/scratch/llama-moe

It rewrites ``tests/data/hf/llama_moe/`` (``config.json``, ``model.safetensors``,
``expected.safetensors``) and the ``llama_moe`` section at the end of
``tests/data/hf/README.md`` (between ``<!-- llama_moe:begin -->`` and
``<!-- llama_moe:end -->``; nothing else in that file is touched). The output is
deterministic: no weights are downloaded, every parameter is drawn from fixed
seeds. Options: ``--out DIR`` (default ``tests/data/hf/llama_moe``), ``--readme
PATH`` (default ``tests/data/hf/README.md``; ``--readme ''`` skips it).

What the script does
--------------------
* Builds a tiny ``LlamaMoEForCausalLM`` (float32, eager attention) from a
  ``LlamaMoEConfig``: 2 layers, hidden 32, 4 heads / 2 KV heads, vocab 96,
  rope_theta 2e4, 4 experts top-2 with *unequal* expert sizes per layer
  (``size_experts=[[8,12,16,12],[10,10,14,14]]``, intermediate_size 48),
  ``gate_network="mlp"`` (Linear -> Tanh -> Linear), softmax gate, noisy gate
  (so ``weight_noise`` is in the checkpoint), ``score_scale_factor=2.0``.
* After the library's own init it overwrites every parameter with a fixed
  ``torch.Generator``: every ``*norm.weight`` = ``1 + 0.2*randn``, every other
  parameter (every matrix: embeddings, attention, lm_head, both gate-network
  layers, ``gate.weight_noise.weight`` and the per-expert ``ParameterList``
  entries) = ``0.2*randn``.
* Seeds are tried from ``--base-seed`` upwards until, for every token and layer,
  the gap between the 2nd and 3rd largest gate logit is > 5e-3, and every
  expert of every layer is chosen by at least one token (so each expert's
  unequal-size weights are exercised).
* Saves with ``model.save_pretrained(out, safe_serialization=True)``, drops
  ``generation_config.json``, reloads with ``from_pretrained`` and checks that
  the logits are reproduced.

Workaround (needed at llama-moe HEAD b17aff4): ``LlamaMoEDecoderLayer.forward``
calls ``self.mlp(hidden_states, attention_mask=attention_mask)`` but
``LinearGLUMoELayer.forward(self, x)`` takes no ``attention_mask``, so every
forward raises ``TypeError``. When the signature lacks the argument, this script
wraps ``LinearGLUMoELayer.forward`` at runtime to accept and ignore it (the MoE
layer never used a mask). The upstream file itself is not modified.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import json
import platform
import shutil
import sys
import types
from pathlib import Path

import safetensors
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "hf" / "llama_moe"
DEFAULT_README = REPO_ROOT / "tests" / "data" / "hf" / "README.md"

MODELING_REL = "smoe/models/llama_moe/modeling_llama_moe_hf.py"
CONFIG_REL = "smoe/models/llama_moe/configuration_llama_moe.py"
PKG_NAME = "_llama_moe_ref"  # synthetic package name for the two imported files

TOKENS = [15, 51, 6, 53, 44, 52, 24, 57, 79, 81, 87, 73]
BASE_SEED = 6000
MAX_TRIES = 500
WEIGHT_STD = 0.2
NORM_WEIGHT_STD = 0.2
MIN_ROUTING_GAP = 5e-3

CONFIG = dict(
    vocab_size=96,
    hidden_size=32,
    intermediate_size=48,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
    rms_norm_eps=1e-6,
    rope_theta=20000.0,
    tie_word_embeddings=False,
    hidden_act="silu",
    initializer_range=0.2,
    num_experts=4,
    num_selects=2,
    size_experts=[[8, 12, 16, 12], [10, 10, 14, 14]],
    gate_type="TopKBalancedNoisyGate",
    gate_network="mlp",
    gate_use_softmax=True,
    gate_use_balance=True,
    gate_add_noise=True,
    calculator_type="UniversalCalculator",
    multiply_gate_scores=True,
    score_scale_factor=2.0,
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_llama_moe(repo: Path):
    """Import configuration_llama_moe.py + modeling_llama_moe_hf.py from the checkout."""
    cfg_path = repo / CONFIG_REL
    mdl_path = repo / MODELING_REL
    for p in (cfg_path, mdl_path):
        if not p.is_file():
            sys.exit(f"error: {p} not found -- is --llama-moe-repo a llama-moe checkout?")
    pkg = types.ModuleType(PKG_NAME)
    pkg.__path__ = [str(mdl_path.parent)]
    sys.modules[PKG_NAME] = pkg
    mods = {}
    for short, path in (("configuration_llama_moe", cfg_path), ("modeling_llama_moe_hf", mdl_path)):
        name = f"{PKG_NAME}.{short}"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        setattr(pkg, short, mod)
        mods[short] = mod
    modeling = mods["modeling_llama_moe_hf"]

    # Workaround for the upstream mlp(..., attention_mask=...) / forward(self, x) mismatch.
    patched = False
    moe_cls = modeling.LinearGLUMoELayer
    if "attention_mask" not in inspect.signature(moe_cls.forward).parameters:
        orig_forward = moe_cls.forward

        def forward(self, x, attention_mask=None, **kwargs):  # noqa: ARG001 - mask unused by the MoE layer
            return orig_forward(self, x)

        moe_cls.forward = forward
        patched = True
    info = {
        "modeling_file": MODELING_REL,
        "modeling_sha256": sha256(mdl_path),
        "configuration_sha256": sha256(cfg_path),
        "mlp_attention_mask_workaround": patched,
    }
    return mods["configuration_llama_moe"].LlamaMoEConfig, modeling.LlamaMoEForCausalLM, info


def randomise(model, seed: int):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + NORM_WEIGHT_STD * r)
            else:
                p.copy_(WEIGHT_STD * r)


def run(model, tokens):
    """Forward pass; returns logits [T,V], gate logits per layer [T,E], chosen experts per layer [T,k]."""
    gate_logits, chosen, hooks = {}, {}, []
    for i, layer in enumerate(model.model.layers):
        gate = layer.mlp.gate
        hooks.append(gate.gate_network.register_forward_hook(
            lambda m, inp, out, i=i: gate_logits.__setitem__(i, out.detach().clone())))
        hooks.append(gate.register_forward_hook(
            lambda m, inp, out, i=i: chosen.__setitem__(i, out["topK_indices"].detach().clone())))
    try:
        with torch.no_grad():
            logits = model(input_ids=tokens[None], use_cache=False).logits[0]
    finally:
        for h in hooks:
            h.remove()
    return logits, gate_logits, chosen


def routing_gap(gate_logits: dict, k: int) -> float:
    gap = float("inf")
    for lg in gate_logits.values():
        s = torch.sort(lg, dim=-1, descending=True).values
        gap = min(gap, float((s[:, k - 1] - s[:, k]).min()))
    return gap


def build(config_cls, model_cls, seed: int):
    torch.manual_seed(seed)
    config = config_cls(**CONFIG, attn_implementation="eager")
    model = model_cls(config).to(torch.float32)
    randomise(model, seed)
    model.eval()
    return model


def listing(path: Path):
    with safe_open(str(path), framework="pt") as f:
        return {k: (str(f.get_slice(k).get_dtype()), list(f.get_slice(k).get_shape())) for k in f.keys()}


def write_readme_section(readme: Path, out: Path, summary: dict):
    begin, end = "<!-- llama_moe:begin -->", "<!-- llama_moe:end -->"
    rel = out.relative_to(readme.parent) if out.is_relative_to(readme.parent) else out
    w = summary["weights"]
    L = [begin, "", "## llama_moe (LLaMA-MoE, `LlamaMoEForCausalLM`)", ""]
    L.append("Not made by `tools/make_hf_fixtures.py` (which rewrites this whole file: rerun the command below")
    L.append("afterwards to restore this section). Generated by `tools/make_llama_moe_fixture.py` with the LLaMA-MoE")
    L.append("project's own modeling code (`" + MODELING_REL + "` from a user checkout of")
    L.append("github.com/pjlab-sys4nlp/llama-moe, imported at run time, never copied here):")
    L.append("")
    L.append("```sh")
    L.append("python3 -m venv /work/venv-llamamoe")
    L.append("/work/venv-llamamoe/bin/pip install -r tools/requirements-llama-moe.txt")
    L.append("/work/venv-llamamoe/bin/python tools/make_llama_moe_fixture.py --llama-moe-repo PATH/TO/llama-moe")
    L.append("```")
    L.append("")
    v = summary["versions"]
    L.append("Versions used: " + ", ".join(f"{k} {val}" for k, val in v.items()) + " (CPU, float32); modeling file")
    L.append(f"sha256 `{summary['llama_moe']['modeling_sha256'][:16]}...` (llama-moe HEAD b17aff4).")
    L.append("")
    L.append(f"Folder `{rel}/`: `config.json`, `model.safetensors` (from `save_pretrained(dir, safe_serialization=True)`;")
    L.append("`generation_config.json` is dropped), `expected.safetensors`. Config: 2 layers, hidden 32, 4 heads /")
    L.append("2 KV heads (GQA, head_dim 8), vocab 96, rope_theta 2e4, eps 1e-6, untied lm_head, 4 experts top-2,")
    L.append("`size_experts=[[8,12,16,12],[10,10,14,14]]` (unequal, per layer; sum = intermediate_size 48),")
    L.append("`gate_network=\"mlp\"`, `gate_use_softmax`, `gate_add_noise` (so `weight_noise` is stored; unused in")
    L.append("eval), `multiply_gate_scores`, `score_scale_factor=2.0`. After the library's init every `*norm.weight`")
    L.append(f"is `1 + {NORM_WEIGHT_STD}*randn` and every other parameter `{WEIGHT_STD}*randn` (one `torch.Generator` seeded")
    L.append("with the seed, in `named_parameters()` order).")
    L.append("")
    L.append(f"Seed {summary['seed']} (searched from {BASE_SEED} upwards until the gap between the 2nd and 3rd largest")
    L.append(f"gate logit is > {MIN_ROUTING_GAP} for every token and layer, and every expert of every layer is chosen")
    L.append(f"by at least one token); min gap {summary['min_gap']:.4g}. Tokens per expert (each token counts once")
    L.append("per chosen expert): " + "; ".join(f"layer {i}: {u}" for i, u in summary["usage"].items()) + ".")
    L.append("")
    L.append("expected.safetensors (metadata: one key `fixture`, a JSON string):")
    L.append("")
    L.append(f"- `tokens`: int64 [12] = {TOKENS}.")
    L.append("- `logits`: float32 [12, 96] = `model(input_ids=tokens[None], use_cache=False).logits[0]` (eval, no_grad).")
    L.append("- `router_probs.L` (L = 0, 1): float32 [12, 4] = softmax over all 4 experts of `gate.gate_network(x)`")
    L.append("  (captured with a forward hook). Note the model itself only softmaxes the 2 selected logits.")
    L.append("- `expert_ids.L`: int64 [12, 2] = `topK_indices` returned by the model's gate (= `topk(logits, 2)`,")
    L.append("  descending).")
    L.append("")
    L.append("What the LLaMA-MoE code does (HF-format file above; attention, RMSNorm, RoPE as in `llama/`):")
    L.append("")
    L.append("- Gate: `logits = W2 @ tanh(W1 @ x)` (`gate.gate_network.0/.2`, no bias); top-k on the *logits*;")
    L.append("  weights = softmax over the k selected logits only (= renormalised top-k of the full softmax).")
    L.append("  `weight_noise` only adds noise in training mode.")
    L.append("- Expert i: `down_i(silu(gate_i(x)) * up_i(x))`, stored as bare parameters")
    L.append("  `calculator.experts.weight_gate.i` [size_i, hidden], `weight_up.i` [size_i, hidden],")
    L.append("  `weight_down.i` [hidden, size_i]; no biases. Sizes differ per expert and per layer.")
    L.append("- MoE output = sum over the k chosen experts of `weight * score_scale_factor * expert(x)`")
    L.append("  (`score_scale_factor` may also be a per-layer list in the config; here a scalar 2.0).")
    L.append("- Every layer is MoE (no dense layers, no shared expert). `rotary_emb.inv_freq` is a *persistent*")
    L.append("  buffer in this code, so it is saved in model.safetensors (one per layer); a loader can ignore it.")
    if summary["llama_moe"]["mlp_attention_mask_workaround"]:
        L.append("- Upstream bug worked around at run time: the decoder layer calls `mlp(h, attention_mask=...)`")
        L.append("  but `LinearGLUMoELayer.forward(x)` has no such argument; the script wraps it to ignore the mask.")
    L.append("")
    L.append("Tensors in model.safetensors (layer 1 has the same names; its expert sizes are 10, 10, 14, 14):")
    L.append("")
    L.append("```")
    for k, (dt, shape) in sorted(w.items()):
        if ".layers." in k and ".layers.0." not in k:
            continue
        L.append(f"{k} {dt} {shape}")
    L.append("```")
    L.append("")
    L.append(end)
    section = "\n".join(L) + "\n"

    text = readme.read_text() if readme.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head.rstrip("\n") + "\n\n" + section + (("\n" + tail) if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-moe-repo", type=Path, required=True, help="path of a llama-moe checkout")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--readme", default=str(DEFAULT_README), help="README to update ('' to skip)")
    ap.add_argument("--base-seed", type=int, default=BASE_SEED)
    args = ap.parse_args()

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()

    config_cls, model_cls, ref_info = load_llama_moe(args.llama_moe_repo.resolve())
    tokens = torch.tensor(TOKENS, dtype=torch.int64)
    k = CONFIG["num_selects"]

    for seed in range(args.base_seed, args.base_seed + MAX_TRIES):
        model = build(config_cls, model_cls, seed)
        logits, gate_logits, chosen = run(model, tokens)
        gap = routing_gap(gate_logits, k)
        unused = {i: sorted(set(range(CONFIG["num_experts"])) - set(chosen[i].flatten().tolist())) for i in chosen}
        if gap > MIN_ROUTING_GAP and not any(unused.values()):
            break
        print(f"seed {seed}: min routing gap {gap:.3g} (need > {MIN_ROUTING_GAP}), unused experts {unused}, next")
    else:
        sys.exit("no seed found")

    # Sanity: what the gate chose is the top-k of its logits, in descending order.
    for i, lg in gate_logits.items():
        assert torch.equal(chosen[i], torch.topk(lg, k, dim=-1).indices), f"layer {i}: gate choice != topk"
        assert lg.shape == (len(TOKENS), CONFIG["num_experts"])
    assert logits.shape == (len(TOKENS), CONFIG["vocab_size"]) and torch.isfinite(logits).all()

    out: Path = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.save_pretrained(str(out), safe_serialization=True)
    gen = out / "generation_config.json"
    if gen.exists():
        gen.unlink()
    if not (out / "model.safetensors").exists():  # very old transformers: write it by hand
        save_file({n: t.contiguous() for n, t in model.state_dict().items()}, str(out / "model.safetensors"),
                  metadata={"format": "pt"})
        model.config.architectures = [model_cls.__name__]
        model.config.to_json_file(str(out / "config.json"))
    cfg = json.loads((out / "config.json").read_text())
    assert cfg.get("architectures") == ["LlamaMoEForCausalLM"], cfg.get("architectures")
    assert cfg.get("model_type") == "llama_moe", cfg.get("model_type")
    saved = listing(out / "model.safetensors")
    assert set(saved) == set(model.state_dict()), "saved tensor names differ from state_dict()"

    versions = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
    }
    expected = {"tokens": tokens.contiguous(), "logits": logits.to(torch.float32).contiguous()}
    for i in sorted(gate_logits):
        expected[f"router_probs.{i}"] = torch.softmax(gate_logits[i], dim=-1).to(torch.float32).contiguous()
        expected[f"expert_ids.{i}"] = chosen[i].to(torch.int64).contiguous()
    meta = {
        "model": "llama_moe",
        "class": model_cls.__name__,
        "seed": seed,
        "min_routing_gap": round(gap, 6),
        "expert_usage": {str(i): torch.bincount(chosen[i].flatten(), minlength=CONFIG["num_experts"]).tolist()
                         for i in sorted(chosen)},
        "tokens": TOKENS,
        "versions": versions,
        "llama_moe": ref_info,
    }
    save_file(expected, str(out / "expected.safetensors"), metadata={"fixture": json.dumps(meta, sort_keys=True)})

    # Reload with the library's own from_pretrained and check the logits.
    reloaded = model_cls.from_pretrained(str(out), torch_dtype=torch.float32, attn_implementation="eager")
    reloaded.eval()
    logits2, _, chosen2 = run(reloaded, tokens)
    err = float((logits2 - logits).abs().max())
    assert err < 1e-6, f"reload mismatch: {err}"
    assert all(torch.equal(chosen[i], chosen2[i]) for i in chosen)

    usage = {i: torch.bincount(chosen[i].flatten(), minlength=CONFIG["num_experts"]).tolist() for i in sorted(chosen)}
    summary = {"seed": seed, "min_gap": gap, "usage": usage, "versions": versions, "llama_moe": ref_info, "weights": saved}
    if args.readme:
        write_readme_section(Path(args.readme).resolve(), out, summary)
    print(f"llama_moe: seed {seed}, min routing gap {gap:.4g}, reload err {err:.3g}, "
          f"workaround={ref_info['mlp_attention_mask_workaround']}, files {sorted(p.name for p in out.iterdir())}")


if __name__ == "__main__":
    main()
