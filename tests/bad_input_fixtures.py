"""Damaged copies of model folders and places that cannot be written, for test_bad_input.py's cases.

A damage is a function of the copied folder; a setup is called as (cli, monkeypatch) in the test's
working folder, before the snapshot of what is there.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import pytest


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
