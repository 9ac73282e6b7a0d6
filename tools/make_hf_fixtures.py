#!/usr/bin/env python3
"""Generate tiny Hugging Face checkpoints + reference outputs for the C++ tests.

Writes everything under ``tests/data/hf/`` (relative to the repository root):

    llama/            LlamaForCausalLM     (untied lm_head)
    qwen2/            Qwen2ForCausalLM     (tied embeddings, q/k/v biases)
    mixtral/          MixtralForCausalLM   (4 experts, top-2)
    mixtral_sharded/  the same Mixtral model, saved in >= 3 safetensors shards
    qwen2_moe/        Qwen2MoeForCausalLM  (3 layers, layer 1 dense, shared expert)
    olmoe/            OlmoeForCausalLM     (q/k norm, clip_qkv that really clips)
    README.md         how they were made (versions, seeds, routing gaps)

Each model folder holds what ``save_pretrained(..., safe_serialization=True)``
writes (``config.json``, ``generation_config.json``, ``model.safetensors``) plus
``expected.safetensors`` with reference outputs computed by transformers itself
(see README.md for its contents). No weights are downloaded: every model is
randomly initialised from a config with a fixed seed, so the script is
deterministic and can be rerun at any time.

Set up (once; the venv lives outside the repository)::

    python3 -m venv /work/venv-tools
    /work/venv-tools/bin/pip install -r tools/requirements-fixtures.txt

Run (from the repository root)::

    /work/venv-tools/bin/python tools/make_hf_fixtures.py

Options: ``--out DIR`` to write somewhere else (default: tests/data/hf).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
from pathlib import Path

import safetensors
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import (
    LlamaConfig,
    LlamaForCausalLM,
    MixtralConfig,
    MixtralForCausalLM,
    OlmoeConfig,
    OlmoeForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
    Qwen2MoeConfig,
    Qwen2MoeForCausalLM,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "tests" / "data" / "hf"

T = 12  # length of the reference token sequence
TOKEN_SEED = 1234  # torch.Generator seed for the token sequence (same for all models)
MIN_ROUTING_GAP = 5e-3  # required gap between k-th and (k+1)-th router prob (brief: > 1e-3)
MAX_SEED_TRIES = 1000
SHARD_SIZE = "40KB"  # mixtral_sharded: ~125 KB of weights -> >= 3 shards
NORM_WEIGHT_STD = 0.2  # norm weights ~ 1 + N(0, 0.2^2) instead of all ones
BIAS_STD = 0.2  # linear biases ~ N(0, 0.2^2) instead of all zeros

COMMON = dict(
    vocab_size=96,
    hidden_size=32,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
    initializer_range=0.2,
    hidden_act="silu",
    pad_token_id=None,
)


def rope(theta: float) -> dict:
    return {"rope_type": "default", "rope_theta": float(theta)}


# name -> (config class, model class, config kwargs, base seed, is_moe)
MODELS = {
    "llama": (
        LlamaConfig,
        LlamaForCausalLM,
        dict(
            COMMON,
            num_hidden_layers=2,
            intermediate_size=48,
            rms_norm_eps=1e-6,
            tie_word_embeddings=False,
            rope_parameters=rope(10000.0),
        ),
        1000,
        False,
    ),
    "qwen2": (
        Qwen2Config,
        Qwen2ForCausalLM,
        dict(
            COMMON,
            num_hidden_layers=2,
            intermediate_size=48,
            rms_norm_eps=1e-6,
            tie_word_embeddings=True,
            rope_parameters=rope(1000000.0),
            use_sliding_window=False,
        ),
        2000,
        False,
    ),
    "mixtral": (
        MixtralConfig,
        MixtralForCausalLM,
        dict(
            COMMON,
            num_hidden_layers=2,
            intermediate_size=24,  # Mixtral experts use intermediate_size
            num_local_experts=4,
            num_experts_per_tok=2,
            rms_norm_eps=1e-5,
            sliding_window=None,
            tie_word_embeddings=False,
            rope_parameters=rope(1000000.0),
        ),
        3000,
        True,
    ),
    "qwen2_moe": (
        Qwen2MoeConfig,
        Qwen2MoeForCausalLM,
        dict(
            COMMON,
            num_hidden_layers=3,
            intermediate_size=48,  # dense MLP of the mlp_only layer
            moe_intermediate_size=24,  # routed experts
            shared_expert_intermediate_size=40,  # shared expert
            num_experts=4,
            num_experts_per_tok=2,
            norm_topk_prob=False,
            decoder_sparse_step=1,
            mlp_only_layers=[1],
            rms_norm_eps=1e-6,
            use_sliding_window=False,
            tie_word_embeddings=False,
            rope_parameters=rope(20000.0),
        ),
        4000,
        True,
    ),
    "olmoe": (
        OlmoeConfig,
        OlmoeForCausalLM,
        dict(
            COMMON,
            num_hidden_layers=2,
            intermediate_size=24,  # OLMoE experts use intermediate_size
            num_experts=4,
            num_experts_per_tok=2,
            norm_topk_prob=False,
            clip_qkv=1.0,
            eos_token_id=2,  # OlmoeConfig default (50279) would lie outside the tiny vocab
            rms_norm_eps=1e-5,
            tie_word_embeddings=False,
            rope_parameters=rope(10000.0),
        ),
        5000,
        True,
    ),
}


def build_model(cfg_cls, model_cls, cfg_kwargs, seed):
    config = cfg_cls(**cfg_kwargs)
    torch.manual_seed(seed)
    model = model_cls._from_config(
        config,
        attn_implementation="eager",
        experts_implementation="eager",
        dtype=torch.float32,
    )
    # transformers initialises every norm weight to 1 and every bias to 0.
    # Randomise them (same seed stream) so a loader that drops them fails.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + NORM_WEIGHT_STD * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(BIAS_STD * torch.randn_like(p))
    model.eval()
    return model


def moe_layers(model):
    """Decoder layer indices that have a router, in module order."""
    out = []
    for i, layer in enumerate(model.model.layers):
        if hasattr(layer.mlp, "gate") and hasattr(layer.mlp, "experts"):
            out.append(i)
    return out


def run_reference(model, tokens, is_moe):
    """Forward pass; returns (logits[T,V], {L: router_probs}, {L: expert_ids}, extra)."""
    captured = {}  # layer -> router_indices captured from the router module itself
    hooks = []
    extra = {}
    layers = moe_layers(model) if is_moe else []
    for L in layers:
        def hook(mod, inp, out, L=L):
            captured[L] = out[2].detach().clone()  # (router_logits, router_scores, router_indices)
        hooks.append(model.model.layers[L].mlp.gate.register_forward_hook(hook))

    clip = getattr(model.config, "clip_qkv", None)
    clip_stats = {"q": [0, 0], "k": [0, 0], "v": [0, 0]}
    if clip is not None:
        for layer in model.model.layers:
            attn = layer.self_attn
            for key, mod in (("q", attn.q_norm), ("k", attn.k_norm), ("v", attn.v_proj)):
                def chook(mod, inp, out, key=key):
                    clip_stats[key][0] += int((out.abs() > clip).sum())
                    clip_stats[key][1] += out.numel()
                hooks.append(mod.register_forward_hook(chook))

    with torch.no_grad():
        out = model(input_ids=tokens[None], output_router_logits=is_moe, use_cache=False)
    for h in hooks:
        h.remove()

    logits = out.logits[0].float().contiguous()
    probs, ids = {}, {}
    if is_moe:
        rl = out.router_logits
        assert len(rl) == len(layers), (len(rl), layers)
        k = model.config.num_experts_per_tok
        for L, r in zip(layers, rl):
            p = torch.softmax(r.float(), dim=-1).reshape(T, -1).contiguous()
            _, top = torch.topk(p, k, dim=-1)
            assert torch.equal(top, captured[L].reshape(T, k)), f"router mismatch at layer {L}"
            probs[L] = p
            ids[L] = captured[L].reshape(T, k).to(torch.int64).contiguous()
    if clip is not None:
        extra["clip"] = {key: v[0] / v[1] for key, v in clip_stats.items()}
    return logits, probs, ids, extra


def routing_gap(probs, k):
    gap = float("inf")
    for p in probs.values():
        s = torch.sort(p, dim=-1, descending=True).values
        gap = min(gap, float((s[:, k - 1] - s[:, k]).min()))
    return gap


def tensor_listing(path: Path):
    with safe_open(str(path), framework="pt") as f:
        return {k: list(f.get_slice(k).get_shape()) for k in f.keys()}


def write_folder(model, folder: Path, **save_kwargs):
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    model.save_pretrained(str(folder), safe_serialization=True, **save_kwargs)


def check_reload(model_cls, folder: Path, tokens, logits_ref):
    m = model_cls.from_pretrained(
        str(folder), attn_implementation="eager", experts_implementation="eager", dtype=torch.float32
    )
    m.eval()
    with torch.no_grad():
        logits = m(input_ids=tokens[None], use_cache=False).logits[0]
    err = float((logits - logits_ref).abs().max())
    assert err == 0.0 or err < 1e-5, f"reload mismatch for {folder}: {err}"
    return err


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    out_root: Path = args.out
    out_root.mkdir(parents=True, exist_ok=True)

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()

    tokens = torch.randint(0, COMMON["vocab_size"], (T,), generator=torch.Generator().manual_seed(TOKEN_SEED))
    tokens = tokens.to(torch.int64)

    summary = {}
    for name, (cfg_cls, model_cls, cfg_kwargs, base_seed, is_moe) in MODELS.items():
        seed = base_seed
        for attempt in range(MAX_SEED_TRIES):
            seed = base_seed + attempt
            model = build_model(cfg_cls, model_cls, cfg_kwargs, seed)
            logits, probs, ids, extra = run_reference(model, tokens, is_moe)
            gap = routing_gap(probs, model.config.num_experts_per_tok) if is_moe else None
            ok = gap is None or gap > MIN_ROUTING_GAP
            if "clip" in extra:
                ok = ok and all(0.0 < v < 1.0 for v in extra["clip"].values())
            if ok:
                break
        else:
            raise SystemExit(f"{name}: no acceptable seed in {MAX_SEED_TRIES} tries")

        folder = out_root / name
        write_folder(model, folder)
        tensors = {"tokens": tokens.clone(), "logits": logits}
        for L in probs:
            tensors[f"router_probs.{L}"] = probs[L]
            tensors[f"expert_ids.{L}"] = ids[L]
        meta = {
            "model": name,
            "seed": str(seed),
            "token_seed": str(TOKEN_SEED),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }
        # One metadata key only: safetensors writes a multi-key map in random order.
        save_file(tensors, str(folder / "expected.safetensors"),
                  metadata={"fixture": json.dumps(meta, sort_keys=True)})
        err = check_reload(model_cls, folder, tokens, logits)
        info = {
            "seed": seed,
            "min_gap": gap,
            "moe_layers": sorted(probs),
            "reload_err": err,
            "files": sorted(p.name for p in folder.iterdir()),
            "bytes": sum(p.stat().st_size for p in folder.iterdir()),
            "weights": tensor_listing(folder / "model.safetensors"),
            **extra,
        }
        summary[name] = info
        print(f"{name}: seed={seed} min_gap={gap} moe_layers={info['moe_layers']} "
              f"reload_err={err} bytes={info['bytes']} {extra}")

        if name == "mixtral":
            sfolder = out_root / "mixtral_sharded"
            write_folder(model, sfolder, max_shard_size=SHARD_SIZE)
            shards = sorted(p.name for p in sfolder.glob("model-*.safetensors"))
            assert len(shards) >= 3, shards
            assert (sfolder / "model.safetensors.index.json").exists()
            serr = check_reload(model_cls, sfolder, tokens, logits)
            summary["mixtral_sharded"] = {
                "seed": seed,
                "shards": shards,
                "reload_err": serr,
                "files": sorted(p.name for p in sfolder.iterdir()),
                "bytes": sum(p.stat().st_size for p in sfolder.iterdir()),
            }
            print(f"mixtral_sharded: {len(shards)} shards, reload_err={serr}")

    write_readme(out_root, summary)


def write_readme(out_root: Path, summary: dict):
    v = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "safetensors": safetensors.__version__,
    }
    L = []
    L.append("# Hugging Face reference fixtures")
    L.append("")
    L.append("Generated by `tools/make_hf_fixtures.py` -- do not edit by hand. Regenerate with")
    L.append("")
    L.append("```sh")
    L.append("python3 -m venv /work/venv-tools")
    L.append("/work/venv-tools/bin/pip install -r tools/requirements-fixtures.txt")
    L.append("/work/venv-tools/bin/python tools/make_hf_fixtures.py")
    L.append("```")
    L.append("")
    L.append("Versions used: " + ", ".join(f"{k} {val}" for k, val in v.items()) + " (CPU, float32).")
    L.append("")
    L.append("Every model is built from a config with transformers' own classes")
    L.append("(`attn_implementation=\"eager\"`, `experts_implementation=\"eager\"`, float32), randomly")
    L.append("initialised after `torch.manual_seed(seed)` with `initializer_range=0.2`. Because transformers")
    L.append(f"initialises norm weights to 1 and biases to 0, every `*norm.weight` is then replaced by")
    L.append(f"`1 + {NORM_WEIGHT_STD}*randn` and every `*.bias` by `{BIAS_STD}*randn` (same RNG stream), so a")
    L.append("loader that ignores them fails the tests. The model is saved with")
    L.append("`save_pretrained(dir, safe_serialization=True)` (default `save_original_format=True`, i.e.")
    L.append("the on-disk key layout of real Hub checkpoints). No weights come from the Hub.")
    L.append("")
    L.append("Common sizes: vocab 96, hidden 32, 4 attention heads (head_dim 8), 2 KV heads (GQA),")
    L.append("max_position_embeddings 64. See each `config.json` for the rest.")
    L.append("")
    L.append("| folder | class | layers | notes |")
    L.append("| --- | --- | --- | --- |")
    L.append("| `llama/` | LlamaForCausalLM | 2 | intermediate 48, untied lm_head, rope_theta 1e4, eps 1e-6 |")
    L.append("| `qwen2/` | Qwen2ForCausalLM | 2 | intermediate 48, tied embeddings (no lm_head.weight), q/k/v bias, rope_theta 1e6 |")
    L.append("| `mixtral/` | MixtralForCausalLM | 2 | 4 experts top-2, expert intermediate 24, rope_theta 1e6, eps 1e-5 |")
    L.append("| `mixtral_sharded/` | MixtralForCausalLM | 2 | identical weights to `mixtral/`, saved with "
             f"`max_shard_size=\"{SHARD_SIZE}\"` + `model.safetensors.index.json`; no expected.safetensors (use mixtral's) |")
    L.append("| `qwen2_moe/` | Qwen2MoeForCausalLM | 3 | 4 experts top-2, norm_topk_prob false, moe_intermediate 24, shared expert 40 "
             "(sigmoid-gated), layer 1 dense (mlp_only_layers=[1], intermediate 48), rope_theta 2e4 |")
    L.append("| `olmoe/` | OlmoeForCausalLM | 2 | 4 experts top-2, norm_topk_prob false, expert intermediate 24, q_norm/k_norm, "
             "clip_qkv 1.0, rope_theta 1e4, eps 1e-5 |")
    L.append("")
    L.append("## expected.safetensors")
    L.append("")
    L.append(f"Computed with `torch.no_grad()`, `model.eval()`, float32, batch 1, no cache.")
    L.append("")
    L.append(f"- `tokens`: int64 [{T}], `torch.randint(0, 96, ({T},), generator=torch.Generator().manual_seed({TOKEN_SEED}))`"
             " (the same sequence for every model).")
    L.append(f"- `logits`: float32 [{T}, 96] = `model(input_ids=tokens[None]).logits[0]`.")
    L.append("- MoE models only, for every decoder layer index `L` that has a sparse MoE block:")
    L.append(f"  - `router_probs.L`: float32 [{T}, E] = softmax over all E experts of that layer's router logits")
    L.append("    (`output_router_logits=True`, entries mapped back to decoder layer indices; for qwen2_moe the")
    L.append("    dense layer 1 has none, so the keys are `.0` and `.2`).")
    L.append(f"  - `expert_ids.L`: int64 [{T}, k] = the experts the model's router chose (captured from the router")
    L.append("    module), in `torch.topk` order (descending probability).")
    L.append("- The file's metadata has one key, `fixture`: a JSON string with model name, seed, token_seed and")
    L.append("  the torch/transformers versions.")
    L.append("")
    L.append(f"Seeds are searched deterministically from a base seed upwards until, for every token and MoE layer, the gap")
    L.append(f"between the k-th and (k+1)-th largest router probability is > {MIN_ROUTING_GAP} (and, for olmoe,")
    L.append("clip_qkv clips some but not all of q, k and v). Every saved folder is reloaded with `from_pretrained`")
    L.append("and must reproduce `logits`.")
    L.append("")
    L.append("| folder | seed | MoE layers | min routing gap | size (bytes) |")
    L.append("| --- | --- | --- | --- | --- |")
    for name, info in summary.items():
        gap = info.get("min_gap")
        L.append(f"| `{name}/` | {info['seed']} | {info.get('moe_layers', '-') if gap is not None else '-'} | "
                 f"{'-' if gap is None else f'{gap:.4g}'} | {info['bytes']} |")
    if "olmoe" in summary and "clip" in summary["olmoe"]:
        c = summary["olmoe"]["clip"]
        L.append("")
        L.append("olmoe: fraction of entries clipped by clip_qkv=1.0 (after q_norm/k_norm, before RoPE): "
                 + ", ".join(f"{k} {val:.1%}" for k, val in c.items()) + ".")
    L.append("")
    L.append("## What the transformers code does (checked in the version above)")
    L.append("")
    L.append("- RMSNorm (all five): `w * (x * rsqrt(mean(x^2, -1) + eps))`, computed in float32, last axis.")
    L.append("- RoPE: `rotate_half` convention (halves, not interleaved pairs), inv_freq = theta^(-2i/head_dim).")
    L.append("- Mixtral router: `p = softmax(x @ gate^T)` over all experts, `topk(p, k)`, then the k weights are")
    L.append("  always renormalised to sum to 1 (no config switch).")
    L.append("- Qwen2-MoE / OLMoE router: softmax over all experts, `topk`, renormalised only if")
    L.append("  `norm_topk_prob` (false here). Qwen2-MoE adds `sigmoid(x @ shared_expert_gate^T) * shared_expert(x)`.")
    L.append("- Experts (all): `down(silu(gate(x)) * up(x))`; on disk one tensor per expert (Mixtral: w1=gate,")
    L.append("  w3=up, w2=down under `block_sparse_moe`; Qwen2-MoE/OLMoE: gate_proj/up_proj/down_proj under `mlp`).")
    L.append("- OLMoE attention: `q = q_norm(q_proj(x))`, `k = k_norm(k_proj(x))`, `v = v_proj(x)`, then clamp all three")
    L.append("  to [-clip_qkv, clip_qkv], then split into heads and apply RoPE. q_norm/k_norm act on the full")
    L.append("  projected width (32 / 16), not per head.")
    L.append("- Qwen2 / Qwen2-MoE: q/k/v have biases, o_proj has none. Qwen2 ties lm_head to embed_tokens.")
    L.append("")
    L.append("## Files per folder")
    L.append("")
    for name, info in summary.items():
        L.append(f"- `{name}/`: " + ", ".join(f"`{f}`" for f in info["files"]))
    L.append("")
    L.append("## Tensors in model.safetensors")
    L.append("")
    for name, info in summary.items():
        if "weights" not in info:
            continue
        L.append(f"### {name}")
        L.append("")
        L.append("```")
        for k, shape in sorted(info["weights"].items()):
            if ".layers." in k and not (".layers.0." in k or (name == "qwen2_moe" and ".layers.1." in k)):
                continue
            L.append(f"{k} {shape}")
        L.append("```")
        L.append("(layers other than 0" + (" and 1" if name == "qwen2_moe" else "") + " have the same tensors as layer 0)")
        L.append("")
    (out_root / "README.md").write_text("\n".join(L))


if __name__ == "__main__":
    main()
