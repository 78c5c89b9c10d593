"""Ray bootstrap: a local Ray with its dashboard on 127.0.0.1 runs a trivial Tune trial and shuts
down; a slow test joins a two-node cluster made with `ray.cluster_utils.Cluster`."""

from __future__ import annotations

from pathlib import Path

import pytest

from experiments.config.schema import RayConfig
from experiments.ray_jobs.runtime import RayRuntime


@pytest.mark.ray
def test_local_ray_runs_a_trial_and_shuts_down(tmp_path: Path) -> None:
    import ray
    from ray import tune

    def trial(config: dict[str, int]) -> dict[str, int]:  # nested: pickled by value for the workers
        return {"score": config["x"] * 2}

    lines: list[str] = []
    cfg = RayConfig(num_cpus=1, dashboard_port=18265)
    with RayRuntime(cfg, log=lines.append) as rt:
        assert ray.is_initialized()
        assert rt.dashboard_url is not None and rt.dashboard_url.startswith("http://127.0.0.1:")
        tuner = tune.Tuner(trial, param_space={"x": tune.grid_search([3])},
                           tune_config=tune.TuneConfig(max_concurrent_trials=1),
                           run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0))
        results = tuner.fit()
        assert results.get_best_result(metric="score", mode="max").metrics["score"] == 6
    assert not ray.is_initialized()
    text = "\n".join(lines)
    assert "dashboard at http://127.0.0.1:" in text
    assert "ray get-auth-token" in text  # Ray 2.60 enables token auth for a new local cluster


@pytest.mark.ray
def test_shutdown_on_keyboard_interrupt() -> None:
    import ray

    with pytest.raises(KeyboardInterrupt):
        with RayRuntime(RayConfig(num_cpus=1, include_dashboard=False), log=lambda _: None):
            raise KeyboardInterrupt
    assert not ray.is_initialized()


@pytest.mark.slow
@pytest.mark.ray
def test_join_multi_node_cluster() -> None:
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        lines: list[str] = []
        with RayRuntime(RayConfig(address=cluster.address), log=lines.append):
            assert len([n for n in ray.nodes() if n["Alive"]]) == 2
            assert ray.cluster_resources()["CPU"] == 2

            @ray.remote(num_cpus=1)
            def node_of(_: int) -> str:
                return ray.get_runtime_context().get_node_id()

            assert len(ray.get([node_of.remote(i) for i in range(4)])) == 4
        assert not ray.is_initialized()
        assert "2 nodes" in lines[0]
    finally:
        cluster.shutdown()
