import pytest

from labellight.ml.baselines import SIGNIFICANCE, baselines, judge


def test_baselines_are_chance_and_the_most_common_share() -> None:
    base = baselines([20, 5, 0, 2, 1, 1, 1, 1, 1, 1, 40])  # a class without labels does not count
    assert base.classes == 10
    assert base.chance == pytest.approx(0.1)
    assert base.majority == pytest.approx(40 / 73)
    assert base.n == 73
    with pytest.raises(ValueError, match="at least 2 classes"):
        baselines([5, 0])


def test_below_chance_and_below_majority_are_not_trusted() -> None:
    # The model: 73 labels over 10 classes, 4.1% against 10% chance and a 27% majority class.
    support = [20, 7, 7, 7, 6, 6, 5, 5, 5, 5]
    below_chance = judge(0.041, support, 2)
    assert not below_chance.trustworthy
    assert below_chance.reason.startswith("no better than chance")
    assert below_chance.folds_warning is not None
    assert "2 folds" in below_chance.folds_warning
    below_majority = judge(0.25, support, 5)
    assert not below_majority.trustworthy
    assert "most common class" in below_majority.reason
    assert below_majority.folds_warning is None


def test_a_margin_that_could_be_luck_needs_more_labels() -> None:
    # 7 of 12 right at a 1/3 baseline: P(X >= 7) = 0.066; 8 of 12: 0.019.
    luck = judge(7 / 12, [4, 4, 4], 4)
    assert not luck.trustworthy
    assert luck.p_value is not None
    assert luck.p_value > SIGNIFICANCE
    assert "label more images" in luck.reason
    enough = judge(8 / 12, [4, 4, 4], 4)
    assert enough.trustworthy
    assert enough.p_value is not None
    assert enough.p_value <= SIGNIFICANCE
    # The same share on ten times the labels is no longer luck.
    assert judge(7 / 12, [40, 40, 40], 5).trustworthy


def test_without_cross_validation_there_is_nothing_to_trust() -> None:
    verdict = judge(None, None, 0)
    assert not verdict.trustworthy
    assert verdict.baselines is None
    assert "not cross-validated" in verdict.reason
