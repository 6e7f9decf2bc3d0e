"""Damaged model directories: one line naming the directory, the damaged file and what to do.

A model directory written whole can still be damaged later: a copy stopped half way, a full disk,
a file edited by hand or deleted. transformers then fails with whatever its readers raise
(OSError, JSONDecodeError, safetensors' SafetensorError, torch's UnpicklingError, ValueError) and a
traceback, or worse, loads without a word: a weights file holding another model's tensors gives
random weights, and a folder without tokenizer files gives an empty tokenizer. `reading` turns
the failures into a `ModelNotAvailable` that names the damaged file; `check_loaded_weights` and
`check_tokenizer` catch the silent cases.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Optional

from rlhf.errors import ModelNotAvailable, RLHFError

SAFETENSORS, TORCH_BIN = "model.safetensors", "pytorch_model.bin"
INDEXES = (SAFETENSORS + ".index.json", TORCH_BIN + ".index.json")  # a sharded checkpoint's map of shards
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
# The JSON files each part is read from, checked first when reading the part fails.
PART_FILES = {
    "config": ("config.json",),
    "weights": ("config.json", *INDEXES),
    "tokenizer": ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json"),
}


def repair_hint(location) -> str:
    """What to do about a damaged model directory: pull a cached alias again, else re-save or restore it."""
    location = Path(location)
    if not location.is_dir():
        return "check the model name, or load it again where the model hub is reachable"
    if (location / "rlhf_source.json").is_file():  # `rlhf models pull` writes it into the alias's folder
        # pull does nothing while the alias looks cached, so the damaged folder goes first.
        return f"remove {location} and pull it again with `rlhf models pull {location.name}`"
    return "save or train the model again, or restore the folder from a backup"


@contextlib.contextmanager
def reading(location, part: str, hint: Optional[str] = None):
    """Any failure to read the `part` (config, weights or tokenizer) of the model at `location` becomes
    one ModelNotAvailable naming the damaged file and `hint` (default: `repair_hint`)."""
    try:
        yield
    except (RLHFError, MemoryError):
        raise  # already clear; and running out of memory is not a damaged file
    except Exception as exc:  # every reader raises its own types for one damaged file
        raise ModelNotAvailable(f"{describe(Path(location), part, exc)}: {hint or repair_hint(location)}") from None


def describe(location: Path, part: str, exc: Exception) -> str:
    """The damaged file and what is wrong with it, as far as the directory shows."""
    if not location.is_dir():
        return f"cannot read the {part} of '{location}' ({reason(exc)})"
    for name in PART_FILES[part]:
        problem = json_problem(location / name)
        if problem:
            return problem
    if part == "weights":
        return weights_problem(location) or f"{weights_file(location)} cannot be read ({reason(exc)})"
    if part == "tokenizer" and not has_tokenizer_files(location):
        return no_tokenizer(location)
    if part == "config":
        return f"{location / 'config.json'} does not describe a model transformers can build ({reason(exc)})"
    return f"the {part} in {location} cannot be read ({reason(exc)})"


def reason(exc: Exception) -> str:
    """The first line of a library's message, short enough for one line of ours."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def json_problem(path: Path) -> Optional[str]:
    """What is wrong with a JSON file that is there, or None (also for a missing one)."""
    if not path.is_file():
        return None
    try:
        json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return f"{path} is not UTF-8 text"
    except json.JSONDecodeError as e:
        return f"{path} is not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})"
    return None


def weights_file(location: Path) -> Path:
    """The file holding the weights (or the index of its shards); the usual name when there is none."""
    for name in (*INDEXES, SAFETENSORS, TORCH_BIN):
        if (location / name).is_file():
            return location / name
    return location / SAFETENSORS


def weights_problem(location: Path) -> Optional[str]:
    """A missing weights file or shard, or a safetensors file whose header does not read."""
    index = weights_file(location)
    if not index.is_file():
        return f"{location} holds no weights (no {SAFETENSORS} or {TORCH_BIN})"
    shards = [index]
    if index.name in INDEXES:
        mapping = json.loads(index.read_text(encoding="utf-8"))
        names = mapping.get("weight_map", {}).values() if isinstance(mapping, dict) else ()
        shards = [location / str(name) for name in sorted(set(names))]
        for shard in shards:
            if not shard.is_file():
                return f"{shard} is missing ({index.name} lists it)"
    for shard in shards:
        if shard.suffix == ".safetensors":
            problem = _safetensors_problem(shard)
            if problem:
                return problem
    return None


def _safetensors_problem(path: Path) -> Optional[str]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:  # reads the header only; it also checks the length
            f.keys()
    except Exception as exc:  # SafetensorError, or OSError for an unreadable file
        return f"{path} is damaged ({reason(exc)})"
    return None


def check_loaded_weights(location, info: dict, hint: Optional[str] = None, expected_missing=()) -> None:
    """Refuse a model whose weights file lacked some of its tensors: transformers fills them with
    random values and says so only in a log line (a file of another model, or damaged)."""
    missing = sorted(set(info.get("missing_keys", ())) - set(expected_missing))
    if missing:
        file = weights_file(Path(location))
        raise ModelNotAvailable(f"{file} lacks {len(missing)} of the model's tensors (such as {missing[0]}): it is "
                                f"damaged or belongs to another model; {hint or repair_hint(location)}")


def has_tokenizer_files(location: Path) -> bool:
    return any((location / name).is_file() for name in TOKENIZER_FILES)


def no_tokenizer(location: Path) -> str:
    return f"{location} holds no tokenizer ({', '.join(TOKENIZER_FILES[:3])} or the like are missing)"


def check_tokenizer(location, tokenizer, hint: Optional[str] = None) -> None:
    """Refuse an empty tokenizer: transformers 5 builds one, without a word, from a folder with no tokenizer files."""
    if not tokenizer.vocab_size:
        where = Path(location)
        problem = no_tokenizer(where) if where.is_dir() else f"the tokenizer of '{location}' is empty"
        raise ModelNotAvailable(f"{problem}: {hint or repair_hint(location)}")
