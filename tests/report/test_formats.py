"""How the report writes numbers."""

import math

from rlhf.report.formats import interval, num, p_value, pct


def test_numbers_percentages_and_intervals():
    assert pct(0.625) == "62.5%" and pct(None) == "–" and pct(math.nan) == "–" and pct(True) == "–"
    assert num(3) == "3" and num(0.12345) == "0.123" and num(120.0) == "120.0" and num(514.28, 0) == "514"
    assert interval({"low": 0.5, "high": 0.75}) == "[50.0%, 75.0%]" and interval({}) == "[–, –]"


def test_a_tiny_p_is_not_written_as_zero():
    assert p_value(0.0384) == "0.038" and p_value(0.0004) == "< 0.001" and p_value(0.0) == "< 0.001"
    assert p_value(None) == "–"
