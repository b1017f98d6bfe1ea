import pytest

from sklearn_fitfn._commands.text import format_architecture, format_rmse


@pytest.mark.parametrize(
    "value, written",
    [
        (75198.06, "75,198.1"),
        (2.3e-9, "2.3e-09"),
        (-2.3e-9, "-2.3e-09"),
        (0.0, "0.0"),  # an exact fit reads as zero, not 0.0e+00
        (0.049, "4.9e-02"),
        (0.05, "0.1"),  # from 0.05 up, one decimal is enough
        (0.5, "0.5"),
        (1.0, "1.0"),
    ],
)
def test_errors_are_written_with_one_decimal_or_two_digits_when_tiny(value, written):
    assert format_rmse(value) == written


@pytest.mark.parametrize(
    "sizes, written", [((64, 64), "(64, 64)"), ((16,), "(16)"), ([3, 2, 1], "(3, 2, 1)")]
)
def test_architectures_are_written_as_tuples_without_the_trailing_comma(sizes, written):
    assert format_architecture(sizes) == written
