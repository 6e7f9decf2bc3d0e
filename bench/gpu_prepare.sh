#!/usr/bin/env bash
# Prepare, on this machine, the folder bench/gpu.sh needs on a bare GPU machine: .gpu/ (ignored by
# git), at most 64 MiB, carried by the device tool (`carry: [".gpu"]`).
#
#   bench/gpu_prepare.sh            # .gpu/wheels: what the CUDA image lacks; .gpu/data: GPT-2's tokenizer, Austen
#
# The image (the device tool's 'cuda' image: Python 3.12, torch, transformers 5.17, accelerate, peft,
# pandas, pyarrow, pytest, hypothesis) lacks trl, datasets, vaderSentiment, SQLAlchemy, alembic,
# rouge-score and argon2; those travel as wheels, with transformers at this project's version. Not
# bitsandbytes: its CUDA wheel alone is larger than everything that may travel, so the 8-bit
# optimizer tests skip there, saying why. The tokenizer is GPT-2's real one from ../shared/data; the
# model is built there (random weights, GPT-2 small's shape: SmolLM2's 93 MB wheel does not fit).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DEST=.gpu
SHARED=${RLHF_SHARED_DATA:-../shared/data}
rm -rf "$DEST" && mkdir -p "$DEST/wheels"
version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
PINS=()
for name in trl datasets dill multiprocess vaderSentiment SQLAlchemy alembic Mako nltk transformers \
            argon2-cffi argon2-cffi-bindings cffi pycparser; do
    PINS+=("$name==$(version "$name")")
done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
    -d "$DEST/wheels" "${PINS[@]}"
# rouge-score is published as a source archive only: build its (pure Python) wheel here.
"$PY" -m pip wheel -q --no-deps -w "$DEST/wheels" "rouge-score==$(version rouge-score)"
mkdir -p "$DEST/data/stories"
cp -r "$SHARED/gpt2_tokenizer" "$DEST/data/gpt2_tokenizer"
cp -r "$SHARED/stories/austen" "$DEST/data/stories/austen"   # the benches' queries (RLHF_SHARED_DATA there)
du -sh "$DEST" "$DEST/wheels"
size=$(du -sm "$DEST" | cut -f1)
if [ "$size" -gt 60 ]; then echo "gpu_prepare.sh: $DEST is $size MiB, more than fits in one device call with the tree" >&2; exit 1; fi
