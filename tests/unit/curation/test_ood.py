import numpy as np
import pytest

from labellight.curation.ood import OodCalibration, calibrate_ood
from labellight.index.vector_index import VectorIndex


def _unit(x: np.ndarray) -> np.ndarray:
    unit: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit


def test_far_queries_are_flagged_and_in_distribution_ones_are_not() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 32)) * 4
    cluster_of = rng.integers(0, 3, 600)
    x = _unit(centres[cluster_of] + rng.normal(size=(600, 32)))
    train, held_out = x[:500], x[500:]
    calibration = calibrate_ood(train)
    index = VectorIndex.build(train, np.arange(500))
    flags, distances = calibration.is_out_of_distribution(held_out, index)
    assert flags.mean() <= 0.05
    assert distances.shape == (100,)
    far = _unit(rng.normal(size=(20, 32)))  # random directions: far from the three clusters
    far_flags, far_distances = calibration.is_out_of_distribution(far, index)
    assert far_flags.all()
    assert far_distances.min() > calibration.threshold
    own_flags, own_distances = calibration.is_out_of_distribution(train[:5], index)
    assert not own_flags.any()
    np.testing.assert_allclose(own_distances, 0.0, atol=1e-3)


def test_threshold_is_the_percentile_of_nearest_neighbour_distances() -> None:
    points = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)  # a duplicate pair and a loner
    assert calibrate_ood(points, percentile=50).threshold == pytest.approx(0.0)
    assert calibrate_ood(points, percentile=100).threshold == pytest.approx(np.sqrt(2))
    assert calibrate_ood(points, percentile=50).percentile == 50
    with pytest.raises(ValueError, match="percentile"):
        calibrate_ood(points, percentile=0)
    with pytest.raises(ValueError, match="empty"):
        OodCalibration(threshold=0.5).is_out_of_distribution(points, VectorIndex(2))
