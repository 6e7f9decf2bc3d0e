"""Typed dataclass configs from YAML plus command-line overrides, checked at load time.

The shape follows TRL's YAML configs (`--config file.yaml`, then `--key value` overrides), with
nested sections addressed by dotted keys (`--generation.temperature 0.5`). Every problem is one
`ConfigError` that names the dotted key, so the CLI can print it on one line and exit with 2.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from rlhf.errors import ConfigError


def option(default: Any = dataclasses.MISSING, help: str = "", *, factory: Any = None, path: bool = False):
    """A config field with its one-line help. `path=True` fields must name an existing file or folder."""
    metadata = {"help": help, "path": path}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def expand_path(path: str | Path) -> Path:
    """`path` with `~` (or `~user`) expanded; left as written where no such home folder is known,
    so it names no file and the caller's own "no such file" message applies."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


def field_help(cls: type) -> dict[str, str]:
    """The help text of every field of a config class, for `rlhf config --help`-style listings."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin in (list, dict):
        return f"a {origin.__name__}"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotation `tp`, converting only where it is lossless (int -> float)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            # Optional[X]: the inner error names the precise key (`prompts.path`, not `prompts`).
            return _convert(value, options[0], key)
        for arg in options:
            try:
                return _convert(value, arg, key)
            except ConfigError:
                continue
        raise ConfigError(key, f"expected {_type_name(tp)}, got {value!r}")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise ConfigError(key, f"expected {_type_name(tp)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {value!r}")
        (item,) = typing.get_args(tp) or (Any,)
        return [_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping, got {value!r}")
        _, item = typing.get_args(tp) or (str, Any)
        return {str(k): _convert(v, item, _join(key, str(k))) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping of settings, got {value!r}")
        return from_dict(tp, value, key)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (int, float) and isinstance(value, bool):
        raise ConfigError(key, f"expected {tp.__name__}, got {value!r}")
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(key, f"expected {_type_name(tp)}, got {value!r}")
    return value


def from_dict(cls: type, data: dict, prefix: str = ""):
    """Build the dataclass `cls` from a mapping, checking every key, type and declared path."""
    if not isinstance(data, dict):
        raise ConfigError(prefix, f"expected a mapping of settings, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known keys: {', '.join(fields)}"
            raise ConfigError(_join(prefix, str(key)), f"unknown key{hint}")
    kwargs = {}
    for name, value in data.items():
        key = _join(prefix, name)
        kwargs[name] = _convert(value, hints[name], key)
        if fields[name].metadata.get("path") and kwargs[name] is not None:
            if not expand_path(kwargs[name]).exists():
                raise ConfigError(key, f"no such file or folder: {kwargs[name]}")
    missing = [n for n, f in fields.items() if n not in kwargs and _is_required(f)]
    if missing:
        raise ConfigError(_join(prefix, missing[0]), "is required")
    obj = cls(**kwargs)
    for sub, problem in _own_checks(obj):
        raise ConfigError(_join(prefix, sub), problem)
    return obj


def _is_required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _own_checks(obj) -> list[tuple[str, str]]:
    """A config class may define `problems()` yielding (field, message) pairs for impossible values.

    Only the first is taken: a later check may rely on the earlier ones having passed (a division by
    `mini_batches` after the check that it is positive).
    """
    check = getattr(obj, "problems", None)
    first = next(iter(check()), None) if check else None
    return [first] if first else []


def to_dict(obj) -> dict:
    """The config as plain data, in field order, ready for YAML."""
    return dataclasses.asdict(obj)


def set_dotted(data: dict, dotted: str, value: Any) -> None:
    """Set `a.b.c` inside nested mappings, creating the levels that are missing."""
    parts = dotted.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None or isinstance(child, str):
            # A section given in shorthand (`task: sentiment`) becomes a mapping that keeps the name.
            child = {} if child is None else {"name": child}
            node[part] = child
        elif not isinstance(child, dict):
            raise ConfigError(".".join(parts[: i + 1]), f"is {child!r}, not a section with '{parts[i + 1]}'")
        node = child
    node[parts[-1]] = value


class _Loader(yaml.SafeLoader):
    """YAML 1.1 as PyYAML reads it, except that `1e-4` is a float (YAML 1.1 wants `1.0e-4`, and a
    learning rate written the usual way would otherwise arrive as a string)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)


def parse_override(text: str) -> tuple[str, Any]:
    """`key=value` with the value read as YAML, so `0.5`, `true`, `null` and `[a, b]` have their types."""
    if "=" not in text:
        raise ConfigError(text, "an override must look like key=value")
    key, raw = text.split("=", 1)
    key = key.strip().lstrip("-")
    if not key:
        raise ConfigError("", f"override {text!r} has no key")
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key, value


def read_yaml(path: str | Path, allow_empty: bool = True) -> dict:
    """A YAML mapping from a file, with one clear message for a missing file or broken syntax."""
    path = expand_path(path)
    if path.is_dir():
        raise ConfigError("config", f"{path} is a folder, not a config file: give the path of a YAML file")
    if not path.is_file():
        raise ConfigError("config", f"no such config file: {path}")
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError("config", f"{path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError:
        raise ConfigError("config", f"{path} is not UTF-8 text") from None
    if data is None:
        if not allow_empty:
            raise ConfigError("config", f"{path} is empty: put settings in it (see configs/) or leave out --config")
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config", f"{path} must hold a mapping of settings, not {type(data).__name__}")
    return data


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (instructions, templates) as readable literal blocks."""


def _str(dumper, value: str):
    style = "|" if "\n" in value.strip("\n") or value.endswith("\n") and value.count("\n") > 1 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
