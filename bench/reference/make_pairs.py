"""Writes the device check's two teacher/student pairs as config.json folders (no weights: both
benchmarks initialise them at random, which costs the same as trained weights).

  small: Mixtral-style teacher, hidden 512, 8 experts of 1408, top-2, 4 layers (~0.1B parameters);
         Llama student, hidden 256, 4 layers (~20M).
  large: Mixtral-style teacher, hidden 2048, 8 experts of 2816, top-2, 12 layers, 16 heads with 8
         key/value heads (~1.9B parameters, ~0.7B active); Llama student, hidden 1024, 20 layers,
         16 heads (~0.32B). Big enough to keep an H200 busy at batch 8 x 1024.
Vocabulary 32000 for both, as LLaMA's.

  python3 bench/reference/make_pairs.py OUT_DIR
"""
import json
import os
import sys


def mixtral(d, ffn, experts, top_k, layers, heads, kv_heads):
    return {"architectures": ["MixtralForCausalLM"], "model_type": "mixtral", "hidden_size": d,
            "intermediate_size": ffn, "num_local_experts": experts, "num_experts_per_tok": top_k,
            "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
            "vocab_size": 32000, "max_position_embeddings": 4096, "rms_norm_eps": 1e-5,
            "rope_theta": 1e6, "router_jitter_noise": 0.0, "router_aux_loss_coef": 0.01,
            "sliding_window": None, "tie_word_embeddings": False, "hidden_act": "silu",
            "bos_token_id": 1, "eos_token_id": 2}


def llama(d, ffn, layers, heads):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": d,
            "intermediate_size": ffn, "num_hidden_layers": layers, "num_attention_heads": heads,
            "num_key_value_heads": heads, "vocab_size": 32000, "max_position_embeddings": 4096,
            "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
            "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2}


PAIRS = {
    "small": (mixtral(512, 1408, 8, 2, 4, 8, 8), llama(256, 704, 4, 4)),
    "large": (mixtral(2048, 2816, 8, 2, 12, 16, 8), llama(1024, 2816, 20, 16)),
}

if __name__ == "__main__":
    out = sys.argv[1]
    for name, (teacher, student) in PAIRS.items():
        for role, cfg in (("teacher", teacher), ("student", student)):
            os.makedirs(os.path.join(out, name, role), exist_ok=True)
            with open(os.path.join(out, name, role, "config.json"), "w") as f:
                json.dump(cfg, f, indent=2)
        print(f"pair {name}: {out}/{name}/teacher, {out}/{name}/student")
