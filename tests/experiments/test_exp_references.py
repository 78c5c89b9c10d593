"""The reference phase's recipe: the final model's `train` section (never the search's child recipe)
with the steps NetAdapt spent, and the words references.csv and the report print for it."""

from __future__ import annotations

from experiments.config.schema import validate_config
from experiments.phases.references import recipe_text, reference_recipe


def test_references_train_with_the_final_recipe_not_the_child_recipe() -> None:
    cfg = validate_config({
        "name": "r", "data": {"kind": "embedded"}, "space": "mnv3-small",
        "train": {"epochs": 4, "batch_size": 96, "lr": 0.05, "warmup_steps": 7, "label_smoothing": 0.2},
        "search": {"reward": {"target_ratio": 1.0}, "child_training": {"epochs": 1, "batch_size": 32, "lr": 0.2}},
        "netadapt": {"target_ratio": 0.7}}, check_files=False)
    recipe = reference_recipe(cfg, 1234)
    assert (recipe.lr, recipe.batch_size, recipe.warmup_steps, recipe.label_smoothing) == (0.05, 96, 7, 0.2)
    assert (recipe.steps, recipe.epochs) == (1234, None)  # NetAdapt's total replaces the epoch budget
    assert recipe_text(recipe) == ("sgd lr 0.05 (warm-up 7, cosine), batch 96, label smoothing 0.2, "
                                   "1234 steps from scratch")
