from fractions import Fraction

import pytest

from mlopsctl.manifests.quantity import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [("100m", Fraction(1, 10)), ("0.5", Fraction(1, 2)), ("2", Fraction(2)), ("1500m", Fraction(3, 2))],
)
def test_cpu_quantities(text, value):
    assert parse_cpu(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("128Mi", 128 * 2**20), ("1Gi", 2**30), ("500M", 500 * 10**6), ("2097152", 2**21)],
)
def test_memory_quantities(text, value):
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["", "-1", "1e3", "abc", "1.", "100 m", "1Mb", " 1", "0x10"])
def test_non_quantities_are_refused(text):
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_memory_in_millibytes_is_a_mistake_with_a_suggestion():
    with pytest.raises(QuantityError, match="did you mean 128Mi"):
        parse_memory("128m")


@pytest.mark.parametrize("text", ["1Gi", "2k", "0m", "0"])
def test_cpu_refuses_byte_suffixes_and_zero(text):
    with pytest.raises(QuantityError):
        parse_cpu(text)


@pytest.mark.parametrize(("cores", "text"), [(Fraction(6), "6"), (Fraction(13, 2), "6500m"), (Fraction(1, 3), "334m")])
def test_format_cpu(cores, text):
    assert format_cpu(cores) == text


@pytest.mark.parametrize(("size", "text"), [(6 * 2**30, "6Gi"), (5632 * 2**20, "5632Mi"), (1000, "1000")])
def test_format_memory(size, text):
    assert format_memory(Fraction(size)) == text


@pytest.mark.parametrize("text", ["6500m", "6", "1m", "12345m"])
def test_cpu_round_trips(text):
    assert parse_cpu(format_cpu(parse_cpu(text))) == parse_cpu(text)
