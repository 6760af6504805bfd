"""Rounds of the labeling loop as a user runs it: ask for suggestions, label them, retrain, and score the
new classifier on the held-out test images."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from labellight.bench.app import BenchJobFailed, BenchProject, finish
from labellight.bench.data import Annotator
from labellight.db.models import Classifier
from labellight.db.session import session_scope
from labellight.selection.random_pick import select_random
from labellight.services.classifier_training import start_train
from labellight.services.images import set_labels
from labellight.services.model_store import linear_head
from labellight.services.suggestions import Strategy, suggest

# Strategies that rank by the classifier's probabilities: with no label yet there is no classifier, so a
# user (and the benchmark) starts them with a random pick.
NEEDS_CLASSIFIER = frozenset({Strategy.MARGIN, Strategy.LEAST_CONFIDENCE, Strategy.ENTROPY, Strategy.HYBRID})


@dataclass
class SelectionRun:
    """One strategy and seed: test accuracy and label set at each budget, and what picked each round."""

    strategy: str
    seed: int
    accuracy: dict[int, float] = field(default_factory=dict)
    labeled: dict[int, list[int]] = field(default_factory=dict)
    picked_by: list[str] = field(default_factory=list)


def constant_accuracy(labels: np.ndarray, test_y: np.ndarray) -> float:
    """Accuracy of always answering the most frequent label (the only answer one class allows)."""
    values, counts = np.unique(labels, return_counts=True)
    return float(np.mean(test_y == values[int(np.argmax(counts))]))


def round_seed(seed: int, n_labeled: int) -> int:
    """A different random stream per seed and round, reproducible; below 2**31 (FAISS takes a C int)."""
    return (seed * 1_000_003 + n_labeled) % 2**31


def run_selection(project: BenchProject, annotator: Annotator, strategy: Strategy, seed: int, budgets: list[int],
                  test_vectors: np.ndarray) -> SelectionRun:
    """Label from scratch up to each budget in turn; score the classifier retrained after each round."""
    _unlabel_all(project)
    run = SelectionRun(strategy.value, seed)
    labeled: list[int] = []
    for budget in budgets:
        wanted = min(budget, len(project.truth)) - len(labeled)
        if wanted > 0:
            picks, used = _pick(project, strategy, seed, labeled, wanted)
            _label(project, annotator, picks)
            labeled.extend(picks)
            run.picked_by.append(used)
        run.labeled[budget] = list(labeled)
        run.accuracy[budget] = _train_and_score(project, annotator, labeled, test_vectors)
    return run


def _pick(project: BenchProject, strategy: Strategy, seed: int, labeled: list[int],
          count: int) -> tuple[list[int], str]:
    if strategy is Strategy.RANDOM or (strategy in NEEDS_CLASSIFIER and not labeled):
        # Drawn over the train ids exactly as random_label_sets draws, so the baselines get these labels.
        return random_picks(project.train_ids, labeled, count, round_seed(seed, len(labeled))), "random"
    with session_scope() as session:
        # One stream per bench seed and round: the spread over seeds covers k-means and sampling too.
        suggestions = suggest(session, project.user, project.project_id, strategy, count,
                              seed=round_seed(seed, len(labeled)))
    return [item.image.id for item in suggestions.items], suggestions.strategy.value


def random_picks(pool_ids: np.ndarray, labeled: list[int], count: int, seed: int) -> list[int]:
    mask = np.isin(pool_ids, np.array(labeled, dtype=np.int64))
    return [int(pool_ids[s.index]) for s in select_random(len(pool_ids), mask, count, seed)]


def _label(project: BenchProject, annotator: Annotator, image_ids: list[int]) -> None:
    for class_id, ids in annotator.label(image_ids).items():
        with session_scope() as session:
            set_labels(session, project.user, project.project_id, ids, class_id)


def _unlabel_all(project: BenchProject) -> None:
    with session_scope() as session:
        set_labels(session, project.user, project.project_id, [int(i) for i in project.train_ids], None)


def _train_and_score(project: BenchProject, annotator: Annotator, labeled: list[int],
                     test_vectors: np.ndarray) -> float:
    test_y = project.test_y
    given = np.array([annotator.truth_of(i) for i in labeled], dtype=np.int64)
    if len(np.unique(given)) < 2:
        return constant_accuracy(given, test_y)
    with session_scope() as session:
        job = start_train(session, project.user, project.project_id)
    version = int(finish(job.id)["classifier_version"])
    with session_scope() as session:
        classifier = session.scalar(select(Classifier).where(
            Classifier.project_id == project.project_id, Classifier.version == version))
    if classifier is None:
        raise BenchJobFailed(f"classifier version {version} is missing after its train job")
    head = linear_head(classifier)
    predicted = head.classes[np.argmax(head.predict_proba(test_vectors), axis=1)]
    return float(np.mean(predicted == test_y))


def random_label_sets(pool_ids: np.ndarray, budgets: list[int], seeds: int) -> dict[int, dict[int, list[int]]]:
    """seed -> budget -> image ids: exactly the labels the ``random`` strategy's runs gather."""
    sets: dict[int, dict[int, list[int]]] = {}
    for seed in range(seeds):
        labeled: list[int] = []
        sets[seed] = {}
        for budget in budgets:
            wanted = min(budget, len(pool_ids)) - len(labeled)
            if wanted > 0:
                labeled += random_picks(pool_ids, labeled, wanted, round_seed(seed, len(labeled)))
            sets[seed][budget] = list(labeled)
    return sets
