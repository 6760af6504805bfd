"""A shipped fine-tune is announced as helping only when it beats guessing."""

import numpy as np

from labellight.ml.finetune import CrossValidation
from labellight.services.finetuning import finetune_verdict


def _cross_validation(right_finetuned: int, right_linear: int) -> CrossValidation:
    # The project: 73 labels over 10 classes, 20 of the most common one (27%).
    y = np.repeat(np.arange(10), [20, 7, 7, 7, 6, 6, 5, 5, 5, 5])
    wrong = (y + 1) % 10

    def predicted(right: int) -> np.ndarray:
        return np.where(np.arange(len(y)) < right, y, wrong)

    return CrossValidation(y=y, linear=predicted(right_linear), finetuned=predicted(right_finetuned), n_folds=2)


def test_a_gain_below_chance_is_not_announced_as_help() -> None:
    verdict = finetune_verdict(_cross_validation(4, 3), "0.055 against 0.041")  # 5.5% against 4.1%
    assert verdict["trustworthy"] is False
    assert "helped" not in verdict["reason"]
    assert verdict["reason"].startswith("the fine-tuned model scored higher, but it is still no better than chance")
    assert (verdict["chance"], round(verdict["majority_baseline"], 3)) == (0.1, 0.274)


def test_a_gain_well_above_the_majority_class_helped() -> None:
    verdict = finetune_verdict(_cross_validation(60, 30), "0.822 against 0.411")
    assert verdict["trustworthy"] is True
    assert verdict["reason"] == "fine-tuning helped: 0.822 against 0.411"
