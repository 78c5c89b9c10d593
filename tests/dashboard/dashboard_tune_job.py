"""A Ray Tune driver for the dashboard screenshot test (run as a subprocess): joins the cluster at
argv[1] and runs one trial, named `hwnas-dashboard-probe`, of the trainable `hwnas_probe_trial`,
which sleeps until the file argv[3] exists (at most 180 s); Tune writes under argv[2]."""

from __future__ import annotations

import sys
import time
from pathlib import Path

TRIAL_NAME = "hwnas-dashboard-probe"


def hwnas_probe_trial(config: dict) -> dict:
    stop, deadline = Path(config["stop_file"]), time.time() + config["max_s"]
    while not stop.exists() and time.time() < deadline:
        time.sleep(0.5)
    return {"slept_s": config["max_s"] - max(0.0, deadline - time.time())}


def main(address: str, storage: str, stop_file: str) -> None:
    import ray
    from ray import tune

    ray.init(address=address, log_to_driver=False)
    tuner = tune.Tuner(hwnas_probe_trial, param_space={"stop_file": stop_file, "max_s": 180},
                       tune_config=tune.TuneConfig(num_samples=1, trial_name_creator=lambda _: TRIAL_NAME),
                       run_config=tune.RunConfig(name=TRIAL_NAME, storage_path=storage, verbose=0))
    tuner.fit()


if __name__ == "__main__":
    main(*sys.argv[1:4])
