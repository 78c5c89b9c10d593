"""The controller searcher under a real (local) Ray Tune run with a trivial function trainable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from experiments.config.spaces import resolve_space
from models.counting import count_madds
from search.rewards import make_reward
from search.trial_record import OVER_TARGET
from search.tune_searcher import ControllerSearcher

pytestmark = pytest.mark.ray


def fake_child(config: dict) -> None:
    from ray import tune

    from models.spec import ArchSpec

    arch = ArchSpec.from_str(config["arch"])
    for epoch in range(config["budget"]["epochs"]):
        tune.report({"accuracy": min(1.0, 0.3 + len(arch.blocks) / 40 + 0.01 * epoch), "epoch": epoch})


def test_searcher_drives_a_local_tune_run(tmp_path, monkeypatch) -> None:
    ray = pytest.importorskip("ray")
    from ray import tune

    # Ray workers unpickle `fake_child` by module name: let them import this test module and the repo.
    here = Path(__file__).resolve().parent
    paths = [str(here), str(here.parents[1]), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))

    space = resolve_space("mnv3-small")
    searcher = ControllerSearcher(space, lambda a: count_madds(a) / 30e6, make_reward("mnasnet_soft", 2.0, w=-0.15),
                                  num_samples=4, batch_size=2, seed=0, budget={"epochs": 2}, controller={"hidden_size": 16})
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        tuner = tune.Tuner(
            fake_child,
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=4, max_concurrent_trials=2),
            run_config=tune.RunConfig(storage_path=str(tmp_path), name="search", verbose=0),
        )
        results = tuner.fit()
    finally:
        ray.shutdown()
    assert len(results) == 4 and not results.errors
    assert {r.config["arch"] for r in results} == {t["arch"] for t in searcher.trials}
    assert len(searcher.trials) == 4 and all(t["status"] == "ok" for t in searcher.trials)
    assert searcher.policy.updates == 2 and searcher.finished()
    assert list((tmp_path / "search").glob("searcher-state-*.pkl"))  # Tune called save()


@pytest.mark.parametrize("algorithm", [pytest.param("random", marks=pytest.mark.slow),  # ~40 s each; make test
                                       pytest.param("evolution", marks=pytest.mark.slow), "tpe"])  # keeps TPE
def test_other_algorithms_drive_a_local_tune_run(algorithm: str, tmp_path, monkeypatch) -> None:
    ray = pytest.importorskip("ray")
    from ray import tune

    from search.searchers import make_searcher

    here = Path(__file__).resolve().parent
    paths = [str(here), str(here.parents[1]), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    searcher = make_searcher(algorithm, resolve_space("mnv3-small"), lambda a: count_madds(a) / 30e6,
                             make_reward("mnasnet_hard", 2.0), 4, seed=0, budget={"epochs": 1},
                             evolution={"population": 2, "tournament": 2}, tpe={"startup_trials": 2})
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        tuner = tune.Tuner(
            fake_child,
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=4, max_concurrent_trials=2),
            run_config=tune.RunConfig(storage_path=str(tmp_path), name="search", verbose=0),
        )
        results = tuner.fit()
    finally:
        ray.shutdown()
    assert len(results) == 4 and not results.errors
    trained = [t for t in searcher.trials if t["status"] != OVER_TARGET]  # the hard reward rules out slow archs
    assert len(trained) == 4 and all(t["status"] == "ok" for t in trained) and searcher.finished()
    assert list((tmp_path / "search").glob("searcher-state-*.pkl"))  # Tune called save(): no pickle inside
