"""Every path inside a run directory, relative to its root, as one named constant.

Every reader and writer (phases, commands, the report, benchmarks) names files through these
constants, so the layout lives here and nowhere else; `LAYOUT_VERSION` is recorded in the manifest,
and a run directory of another layout is refused on resume with what to do.

A trained model lives in a folder (`SEED_DIR`, `FINAL_DIR`) holding `ARCH`, `WEIGHTS` and `METRICS`,
written in that order: a present metrics file means the other two are complete.
"""

from __future__ import annotations

from netadapt.state import STATE_FILE

LAYOUT_VERSION = 1

# the run as a whole
PHASE_NAMES = ("search", "seed", "netadapt", "references", "export", "report")  # keys of PHASES, in order
CONFIG = "config.yaml"
MANIFEST = "manifest.json"
PHASES = "phases.json"
LATENCY_TABLE = "latency_table.json"
REPORT = "report.md"
PLOTS_DIR = "plots"
LOGS_DIR = "logs"          # one full log per attempt: everything the console hid (see experiments.console)
TENSORBOARD_DIR = "tb"     # TensorBoard event files (`tensorboard --logdir runs/<name>/tb`)

# a trained model's folder
ARCH = "arch.yaml"
WEIGHTS = "weights.pt"
METRICS = "metrics.json"

# search
TRIALS = "trials.csv"
CONTROLLER = "controller.pt"
TOPK = "topk.yaml"
BEST_DIR = "best"
REWARD_TARGET = "reward_target.json"
SEARCH_RESULT = "search_result.json"  # the finished search: children, best arch, latency calibration
ONE_SHOT_DIR = "one_shot"  # the supernet search's checkpoints (search.strategy: one_shot)
RAY_DIR = "ray"
ONE_SHOT_UNIFORM = "one_shot_uniform.csv"  # uniform paths scored by the final supernet (the learning's baseline)
ONE_SHOT_TOPK = "one_shot_topk.csv"  # the top_k archs scored by the final supernet (its proxy fidelity)

# proxy fidelity (`hwnas proxy-check`)
PROXY_CHECK = "proxy_check.csv"
PROXY_CHECK_STATE = "proxy_check_state.json"  # finished trainings, so a killed check retrains none of them

# reference nets
REFERENCES = "references.csv"
REFERENCES_DIR = "references"

# seed, NetAdapt, final model, export
SEED_DIR = "seed"
NETADAPT_DIR = "netadapt"
NETADAPT_HISTORY = "history.csv"
NETADAPT_TRAJECTORY = "trajectory.csv"
NETADAPT_RESULT = "result.json"
NETADAPT_CALIBRATION = "calibration.json"
FINAL_DIR = "final"
EXPORT = "export.json"
EXPORT_FILES = {"onnx": "model.onnx", "tflite": "model.tflite", "tflite_int8": "model_int8.tflite"}


def join(*parts: str) -> str:
    """A run-relative path from its parts (always with '/', as recorded in phases.json)."""
    return "/".join(parts)


BEST_ARCH = join(BEST_DIR, ARCH)
SEED_ARCH, SEED_WEIGHTS, SEED_METRICS = (join(SEED_DIR, f) for f in (ARCH, WEIGHTS, METRICS))
FINAL_ARCH, FINAL_WEIGHTS, FINAL_METRICS = (join(FINAL_DIR, f) for f in (ARCH, WEIGHTS, METRICS))
FINAL_EXPORT = join(FINAL_DIR, EXPORT)
HISTORY = join(NETADAPT_DIR, NETADAPT_HISTORY)
TRAJECTORY = join(NETADAPT_DIR, NETADAPT_TRAJECTORY)
RESULT = join(NETADAPT_DIR, NETADAPT_RESULT)
CALIBRATION = join(NETADAPT_DIR, NETADAPT_CALIBRATION)  # the table's calibration around NetAdapt's seed
PROXY_CHECK_PLOT = join(PLOTS_DIR, "proxy_check.png")
NETADAPT_STATE_FILE = join(NETADAPT_DIR, STATE_FILE)  # the loop names its own state file


def reference_metrics(slug: str) -> str:
    """One trained reference net's metrics (`references/<slug>.json`)."""
    return join(REFERENCES_DIR, f"{slug}.json")


def attempt_log(command: str, stamp: str) -> str:
    """The full log of one attempt (`logs/<stamp>-<command>.log`, stamp sortable in time)."""
    return join(LOGS_DIR, f"{stamp}-{command}.log")


def final_file(kind: str) -> str:
    """An exported file of the final model, by kind (`onnx`, `tflite`, `tflite_int8`)."""
    return join(FINAL_DIR, EXPORT_FILES[kind])
