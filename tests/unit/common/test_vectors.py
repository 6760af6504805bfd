"""The one L2 row normaliser."""

import numpy as np
import pytest

from labellight.common.vectors import unit_rows


def test_rows_have_unit_norm_as_contiguous_float32_and_zero_rows_stay_zero() -> None:
    x = np.asfortranarray(np.array([[3.0, 4.0], [0.0, 0.0], [-1.0, 0.0]]))
    unit = unit_rows(x)
    assert unit.dtype == np.float32
    assert unit.flags.c_contiguous
    np.testing.assert_allclose(unit, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]], rtol=1e-6)


def test_an_empty_matrix_passes_unless_rows_are_required() -> None:
    assert unit_rows(np.zeros((0, 4), np.float32)).shape == (0, 4)
    with pytest.raises(ValueError, match=r"N >= 1"):
        unit_rows(np.zeros((0, 4), np.float32), min_rows=1)


@pytest.mark.parametrize("bad", [np.zeros(4, np.float32), np.zeros((2, 2), np.int64)])
def test_anything_but_a_float_matrix_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"embeddings must be a float array \(N, D\)"):
        unit_rows(bad)
