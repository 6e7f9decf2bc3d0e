from dataclasses import dataclass
from typing import Literal, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlhf.config.loader import from_dict, option, parse_override, read_yaml, set_dotted
from rlhf.errors import ConfigError


@dataclass
class Inner:
    rate: float = option(0.5, help="A rate.")
    mode: Literal["a", "b"] = option("a", help="A mode.")

    def problems(self):
        if self.rate < 0:
            yield "rate", f"must be 0 or positive, got {self.rate}"


@dataclass
class Outer:
    count: int = option(1, help="A count.")
    label: Optional[str] = option(None, help="A label.")
    tags: list[str] = option(factory=list, help="Tags.")
    inner: Inner = option(factory=Inner, help="Nested.")


def error(data) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        from_dict(Outer, data)
    return info.value


def test_nested_values_are_typed_and_ints_widen_to_floats():
    cfg = from_dict(Outer, {"count": 3, "tags": ["x"], "inner": {"rate": 2, "mode": "b"}})
    assert cfg.count == 3 and cfg.tags == ["x"]
    assert cfg.inner.rate == 2.0 and isinstance(cfg.inner.rate, float) and cfg.inner.mode == "b"


def test_unknown_key_is_named_with_a_suggestion():
    exc = error({"inner": {"rtae": 1.0}})
    assert exc.key == "inner.rtae" and "did you mean 'rate'" in str(exc)


@pytest.mark.parametrize(
    "data, key",
    [({"count": "three"}, "count"), ({"count": True}, "count"), ({"count": 1.5}, "count"),
     ({"tags": "x"}, "tags"), ({"tags": [1]}, "tags[0]"), ({"inner": {"mode": "c"}}, "inner.mode"),
     ({"inner": 3}, "inner"), ({"label": 5}, "label")],
)
def test_wrong_types_name_the_key(data, key):
    assert error(data).key == key


def test_own_checks_report_impossible_values_with_the_full_key():
    exc = error({"inner": {"rate": -1}})
    assert exc.key == "inner.rate" and "must be 0 or positive" in str(exc)


def test_set_dotted_expands_a_shorthand_section_keeping_its_name():
    data = {"task": "sentiment"}
    set_dotted(data, "task.temperature", 1.0)
    assert data == {"task": {"name": "sentiment", "temperature": 1.0}}


def test_set_dotted_refuses_to_descend_into_a_scalar():
    with pytest.raises(ConfigError) as info:
        set_dotted({"count": 3}, "count.x", 1)
    assert info.value.key == "count"


@pytest.mark.parametrize("text, expected", [("a=1", ("a", 1)), ("a.b=0.5", ("a.b", 0.5)), ("a=true", ("a", True)),
                                            ("a=null", ("a", None)), ("a=[x, y]", ("a", ["x", "y"])),
                                            ("a=hello world", ("a", "hello world")), ("a=", ("a", "")),
                                            ("a=1e-4", ("a", 1e-4)), ("a=-2E5", ("a", -2e5)), ("a=1e", ("a", "1e"))])
def test_overrides_read_values_as_yaml(text, expected):
    assert parse_override(text) == expected


def test_exponents_without_a_dot_are_floats_in_files_too(tmp_path):
    """PyYAML reads `1e-4` as a string (YAML 1.1 wants `1.0e-4`); a learning rate written so must still load."""
    path = tmp_path / "c.yaml"
    path.write_text("inner:\n  rate: 3e-5\n")
    assert from_dict(Outer, read_yaml(path)).inner.rate == 3e-5


def test_override_without_equals_is_a_config_error():
    with pytest.raises(ConfigError):
        parse_override("just-a-word")


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nb: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        read_yaml(path)
    assert "not valid YAML at line" in str(info.value)


def test_yaml_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        read_yaml(path)


@settings(deadline=None)
@given(st.dictionaries(st.sampled_from(["count", "label", "tags", "inner", "bogus"]),
                       st.one_of(st.integers(), st.text(max_size=5), st.none(), st.booleans(),
                                 st.lists(st.text(max_size=3), max_size=2), st.floats(allow_nan=False)),
                       max_size=4))
def test_any_mapping_either_loads_or_raises_a_config_error(data):
    try:
        cfg = from_dict(Outer, data)
    except ConfigError as exc:
        assert exc.key  # every refusal names a key
    else:
        assert isinstance(cfg.count, int) and not isinstance(cfg.count, bool)
