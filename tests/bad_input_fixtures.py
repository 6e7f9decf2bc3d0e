"""What test_bad_input.py and test_bad_input_store.py share: a run config naming the tiny model, good
label lines, the CLI's exit codes and the one-error-line check; damaged copies of model folders and
places that cannot be written.

A damage is a function of the copied folder; a setup is called as (cli, monkeypatch) in the test's
working folder, before the snapshot of what is there.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Union

import pytest

MODEL = "@MODEL@"  # replaced by the tiny GPT-2 directory
CONFIG_ERROR, RLHF_ERROR, MODEL_ERROR, DATA_ERROR, USAGE = 2, 1, 3, 4, 2


def cfg(name="bad", task="{name: sentiment, query_length: 200}", **sections: str) -> str:
    """A run config naming the tiny model; keyword arguments add top-level sections as YAML text."""
    text = f"name: {name}\noutput_dir: runs\nmodel: {{name: {MODEL}}}\ntask: {task}\n"
    return text + "".join(f"{key}: {value}\n" for key, value in sections.items())


GOOD = {"query": "Once upon a time.", "sample0": " a", "sample1": " b", "sample2": " c", "sample3": " d", "best": 1}


def jsonl(*rows: Union[dict, str]) -> str:
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows)


SAMPLE = ["sample", "--config", "c.yaml"]
IMPORT = ["import", "--config", "c.yaml", "labels.jsonl"]
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def the_error_line(err: str) -> str:
    """The one error line; besides it only argparse's usage and at most two progress lines may be printed."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ") or re.match(r"rlhf( [\w-]+)*: error: ", line)]
    assert len(errors) == 1, f"expected one error line, got:\n{err}"
    others = [line for line in lines if line not in errors and not line.startswith(("usage:", " "))]
    assert len(others) <= 2, f"too much output around the error:\n{err}"
    return errors[0]


def put(name: str, content: Union[str, bytes]):
    """Damage: the folder's `name` replaced by `content`."""
    data = content.encode() if isinstance(content, str) else content
    return lambda folder: (folder / name).write_bytes(data)


def drop(*names: str):
    return lambda folder: [(folder / name).unlink() for name in names]


def cut_in_half(name: str):
    """Damage: `name` cut to half its length, as by a copy that stopped half way."""
    def cut(folder):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
    return cut


def foreign_weights(folder):
    """A well-formed safetensors file that holds none of the model's tensors."""
    import torch
    from safetensors.torch import save_file

    save_file({"other.weight": torch.zeros(2)}, str(folder / "model.safetensors"), metadata={"format": "pt"})


def as_pulled_alias(damage):
    """The damaged copy sits in the model cache as `rlhf models pull` leaves an alias."""
    def pulled(folder):
        (folder / "rlhf_source.json").write_text('{"alias": "smollm2-135m"}')
        damage(folder)
    return pulled


def read_only(folder: str):
    def setup(cli, monkeypatch):
        path = Path(folder)
        path.mkdir(exist_ok=True)
        path.chmod(0o500)
        if os.access(path, os.W_OK):
            pytest.skip("chmod 0o500 does not stop this user writing (root): the cases whose parent is a file "
                        "cover the same refusal")
    return setup


def needs_dev_zero(cli, monkeypatch):
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero on this system")
