"""Whatever a user types for a rate, a duration or an SLO, the answer is a value or a SpecError (one line for
the CLI), never another exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inference.loadgen.spec import SpecError, parse_duration, parse_rate, parse_slo

TEXT = st.text(alphabet=st.sampled_from("0123456789.,<>=%/ msuhµpPerorsdatex-+e\t"), max_size=30) | st.text(max_size=30)


@given(TEXT)
def test_any_text_is_a_value_or_a_spec_error(text):
    for parse in (parse_duration, parse_rate, parse_slo):
        try:
            parse(text)
        except SpecError as exc:
            assert "\n" not in str(exc)


@given(st.integers(0, 48), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999))
def test_compound_durations_add_up(hours, minutes, seconds, millis):
    total = hours * 3600 + minutes * 60 + seconds + millis / 1000
    text = "".join(
        f"{value}{unit}" for value, unit in ((hours, "h"), (minutes, "m"), (seconds, "s"), (millis, "ms")) if value
    )
    if total == 0:
        return
    assert abs(parse_duration(text) - total) < 1e-6


@given(st.floats(0.01, 1_000_000, allow_nan=False))
def test_rates_round_trip(rate):
    text = repr(rate)
    if "e" in text:
        return
    assert abs(parse_rate(text) - rate) < 1e-9 * rate + 1e-12
    assert abs(parse_rate(f"{text}/s") - rate) < 1e-9 * rate + 1e-12
