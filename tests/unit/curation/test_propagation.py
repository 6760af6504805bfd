import numpy as np
import pytest

from labellight.curation.propagation import propagate_labels


def _clusters(n_clusters: int, per_cluster: int = 30, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim)) * 5
    x = np.concatenate([c + rng.normal(size=(per_cluster, dim)) for c in centres]).astype(np.float32)
    return x, np.repeat(np.arange(n_clusters), per_cluster)


def test_clean_clusters_get_their_label_with_high_confidence_and_unreached_ones_stay_unlabeled() -> None:
    x, cluster = _clusters(4)
    labels = np.full(len(x), -1)
    class_of_cluster = {0: 10, 1: 20, 2: 10}  # cluster 3 has no label at all
    for c, class_id in class_of_cluster.items():
        labels[np.flatnonzero(cluster == c)[:2]] = class_id
    tentative, confidence = propagate_labels(x, labels)
    for c, class_id in class_of_cluster.items():
        rows = np.flatnonzero(cluster == c)
        assert (tentative[rows] == class_id).all()
        assert confidence[rows].min() >= 0.9
    rows = np.flatnonzero(cluster == 3)
    assert (tentative[rows] == -1).all()
    assert (confidence[rows] == 0).all()
    labeled = labels >= 0
    assert (tentative[labeled] == labels[labeled]).all()
    assert (confidence[labeled] == 1).all()


def test_a_mixed_neighbourhood_lowers_confidence() -> None:
    x, _ = _clusters(1, per_cluster=40)
    labels = np.full(len(x), -1)
    labels[:3], labels[3:6] = 0, 1  # one cluster, two classes: propagation cannot be sure
    _, confidence = propagate_labels(x, labels)
    assert confidence[6:].mean() < 0.8


def test_propagation_validates_labels() -> None:
    x, _ = _clusters(2)
    with pytest.raises(ValueError, match="labels"):
        propagate_labels(x, np.full(len(x), -2))
    with pytest.raises(ValueError, match="labels"):
        propagate_labels(x, np.zeros(len(x) - 1, np.int64))
    unlabeled, confidence = propagate_labels(x, np.full(len(x), -1))
    assert (unlabeled == -1).all()
    assert (confidence == 0).all()
