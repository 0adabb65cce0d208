import math

import pytest

from advnets.metrics.summary import format_mean_se, mean_and_se


def test_mean_and_se_is_sample_std_over_sqrt_n():
    mean, se = mean_and_se([1.0, 2.0, 3.0, 6.0])
    assert mean == pytest.approx(3.0)
    # sample variance: (4 + 1 + 0 + 9) / 3
    assert se == pytest.approx(math.sqrt(14 / 3) / 2)


def test_one_value_has_no_error_and_none_is_refused():
    mean, se = mean_and_se([215.2])
    assert mean == 215.2 and math.isnan(se)
    with pytest.raises(ValueError):
        mean_and_se([])


def test_format_for_tables():
    assert format_mean_se([179.8, 175.2, 183.5]) == "179.5 ± 2.4"
    assert format_mean_se([6.0, 7.0], "+-") == "6.5 +- 0.5"
    assert format_mean_se([3.14159]) == "3.1"
    assert format_mean_se([]) == "-"
