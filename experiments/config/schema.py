"""The run configuration: a strict, typed schema for the YAML files in `experiments/configs/`.

Every section is a pydantic model with `extra="forbid"`, so a typo is an error, not a silently
ignored key. `load_config` parses a YAML file, applies `key=value` overrides (see
`experiments.config.overrides`), and validates everything in one pass: a `ConfigError` lists every problem
at once, each with its YAML path (e.g. `search.reward.w`), the bad value and what is allowed.
Filesystem facts (a dataset path exists, a space name resolves) are checked here as well; reading
the data and comparing a latency table are left to `experiments.config.checks.preflight`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from experiments.config.errors import ConfigError, ConfigIssue, format_pydantic_errors
from experiments.config.overrides import apply_overrides
from experiments.config.spaces import resolve_space
from latency.predict import LIVE_MAX_SPAN_S, LIVE_REPEAT, LIVE_SPAN_S
from models.references import resolve_arch
from models.spec import SpecError
from search.controller import HIDDEN_SIZE, TANH_CLIP, TEMPERATURE
from search.one_shot import QUALITIES, WARMUP_SCHEDULES, OneShotConfig
from search.policy import DEFAULT_ENTROPY_WEIGHT, DEFAULT_TOP_K, PolicyConfig
from search.rewards import MNASNET_W, TUNAS_BETA
from search.searchers.evolution import POPULATION, TOURNAMENT
from search.searchers.registry import ALGORITHMS
from search.searchers.tpe import STARTUP_TRIALS
from search.space import SpaceError
from search.tune_searcher import BATCH_SIZE


class Strict(BaseModel):
    """Base for every section: unknown keys are rejected, assignments re-validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(Strict):
    """Where the images come from. `embedded` is generated from the seed; the others read `path`."""

    kind: Literal["embedded", "imagefolder", "cifar10", "npz"] = "embedded"
    path: Path | None = Field(None, description="dataset root (imagefolder, cifar10) or .npz file")
    resolution: int = Field(32, ge=16, le=1024, description="images are resized to resolution x resolution")
    train_size: int = Field(10_000, ge=10, description="embedded: number of training images")
    val_size: int = Field(2_000, ge=10, description="embedded: number of validation images")
    test_size: int = Field(2_000, ge=10, description="embedded: number of test images")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="share of the training data held out for "
                                "validation when the source has no validation split")
    test_fraction: float = Field(0.1, gt=0, lt=1, description="share held out for test when the source "
                                 "has no test split (imagefolder, npz)")
    augment: bool = Field(True, description="random crop (pad 4) and horizontal flip on training batches")

    @model_validator(mode="after")
    def _path_matches_kind(self, info: ValidationInfo) -> DataConfig:
        if self.kind == "embedded":
            if self.path is not None:
                raise ConfigIssue("path", str(self.path), "must be null for kind 'embedded' (it is generated, "
                                  "nothing is read); remove it or pick kind imagefolder, cifar10 or npz")
            return self
        if self.path is None:
            raise ConfigIssue("path", None, f"is required for kind {self.kind!r}: the dataset "
                              f"{'file' if self.kind == 'npz' else 'directory'}")
        if (info.context or {}).get("filesystem"):
            if not self.path.exists():
                raise ConfigIssue("path", str(self.path), f"does not exist; point it at the {self.kind} data")
            if self.kind == "npz" and not self.path.is_file():
                raise ConfigIssue("path", str(self.path), "must be an .npz file")
            if self.kind != "npz" and not self.path.is_dir():
                raise ConfigIssue("path", str(self.path), f"must be a directory for kind {self.kind!r}")
        return self


class TrainingConfig(Strict):
    """A training recipe and budget: used by `hwnas train`, search children and NetAdapt fine-tunes."""

    epochs: float | None = Field(None, gt=0, description="budget in passes over the training split")
    steps: int | None = Field(None, ge=1, description="budget in optimizer steps (instead of epochs)")
    batch_size: int = Field(128, ge=1)
    eval_batch_size: int = Field(512, ge=1)
    optimizer: Literal["sgd", "rmsprop"] = "sgd"
    lr: float = Field(0.1, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(4e-5, ge=0)
    nesterov: bool = True
    warmup_steps: int = Field(0, ge=0, description="linear warm-up before the cosine schedule")
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    dropout: float = Field(0.2, ge=0, lt=1)
    bn_recalibration_batches: int = Field(20, ge=0, description="before each evaluation, recompute BatchNorm "
                                          "statistics over this many training batches (0: off)")
    channels_last: bool = Field(True, description="NHWC memory format (measured ~3x faster on CPU here)")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    torch_threads: int | None = Field(None, ge=1, description="torch intra-op threads for this process; null: "
                                      "torch's default (on a busy machine 1 is often fastest)")

    @model_validator(mode="after")
    def _one_budget(self) -> TrainingConfig:
        if (self.epochs is None) == (self.steps is None):
            raise ConfigIssue("steps" if self.steps is not None else "epochs",
                              {"epochs": self.epochs, "steps": self.steps},
                              "set exactly one budget: epochs or steps (the other null)")
        return self


_POLICY = PolicyConfig()


class ControllerConfig(Strict):
    """The LSTM controller of the block-wise search (`reinforce`, `ppo`) and its policy-gradient settings.

    The names are the code's (`search.controller.Controller`, `search.policy.PolicyConfig`) and so are
    the defaults, tuned with REINFORCE on NAS-Bench-201 ground truth (docs/controller_tuning.md)."""

    hidden_size: int = Field(HIDDEN_SIZE, ge=1, description="LSTM width")
    embedding_size: int | None = Field(None, ge=1, description="width of the choice embeddings fed back to the "
                                       "LSTM; null: hidden_size")
    lr: float = Field(_POLICY.lr, gt=0, description="Adam learning rate of the controller")
    temperature: float = Field(TEMPERATURE, gt=0, description="logits are divided by it (before the tanh clipping)")
    tanh_clip: float | None = Field(TANH_CLIP, gt=0, description="ENAS logit clipping: logits -> c * tanh(logits / "
                                    "temperature), bounding them to (-c, c); null disables")
    entropy_weight: float | None = Field(None, ge=0, description="entropy bonus, relative to the reward's moving "
                                         f"std; null: {DEFAULT_ENTROPY_WEIGHT['reinforce']} for reinforce, "
                                         f"{DEFAULT_ENTROPY_WEIGHT['ppo']} for ppo (whose bonus acts in each of its "
                                         "ppo_epochs passes)")
    baseline_decay: float = Field(_POLICY.baseline_decay, ge=0, lt=1,
                                  description="decay of the moving-average reward baseline")
    ppo_clip: float = Field(_POLICY.ppo_clip, gt=0, lt=1)
    ppo_epochs: int = Field(_POLICY.ppo_epochs, ge=1, description="PPO passes over each batch")
    batch_size: int = Field(BATCH_SIZE, ge=1, description="children per policy update")
    top_k: int | None = Field(None, ge=0, description="priority-queue training (Abolafia et al. 2018): each "
                              "update also fits the policy by maximum likelihood to the top_k best children trained "
                              f"so far; 0 disables; null: {DEFAULT_TOP_K['reinforce']} for reinforce, "
                              f"{DEFAULT_TOP_K['ppo']} for ppo; stand-alone children only (the one-shot loop's "
                              "rewards come from a supernet still training, so it keeps no queue)")
    top_k_weight: float = Field(_POLICY.top_k_weight, ge=0, description="weight of that maximum-likelihood term "
                                "against the (normalised) policy-gradient term")

    def policy(self, algorithm: str) -> PolicyConfig:
        """The policy-gradient settings for `algorithm` (reinforce or ppo)."""
        entropy = DEFAULT_ENTROPY_WEIGHT[algorithm] if self.entropy_weight is None else self.entropy_weight
        return PolicyConfig(algorithm=algorithm, lr=self.lr, baseline_decay=self.baseline_decay,
                            entropy_weight=entropy, ppo_clip=self.ppo_clip, ppo_epochs=self.ppo_epochs,
                            top_k=DEFAULT_TOP_K[algorithm] if self.top_k is None else self.top_k,
                            top_k_weight=self.top_k_weight)

    def controller(self) -> dict[str, Any]:
        """`search.controller.Controller` keyword arguments."""
        return self.model_dump(include={"hidden_size", "embedding_size", "temperature", "tanh_clip"})


class EvolutionConfig(Strict):
    """Regularized evolution (Real et al. 2019), `search.algorithm: evolution`."""

    population: int = Field(POPULATION, ge=1, description="children alive; the oldest dies when one is born")
    tournament: int = Field(TOURNAMENT, ge=1, description="children sampled per tournament; the best is mutated "
                            "in one decision")

    @model_validator(mode="after")
    def _tournament_fits(self) -> EvolutionConfig:
        if self.tournament > self.population:
            raise ConfigIssue("tournament", self.tournament, f"must be <= population ({self.population})")
        return self


class TPEConfig(Strict):
    """Optuna's TPE through Ray Tune's OptunaSearch, `search.algorithm: tpe`."""

    startup_trials: int = Field(STARTUP_TRIALS, ge=1, description="random children before TPE models the history")


class RewardConfig(Strict):
    """MnasNet soft / hard constraint, or TuNAS absolute reward (see MOBILENETV3.md section 1).

    The latency target is set by exactly one of `target_ms` and `target_ratio`; a ratio is resolved
    when the search starts, against the latency of the space's seed architecture (all seed choices,
    e.g. the V3-Small-like net of mnv3-small) under the run's latency model, and saved in the run."""

    kind: Literal["mnasnet_soft", "mnasnet_hard", "tunas_abs"] = "mnasnet_soft"
    target_ms: float | None = Field(None, gt=0, description="latency target in milliseconds")
    target_ratio: float | None = Field(None, gt=0, description="latency target as a share of the space's seed "
                                       "architecture's latency (e.g. 1.0: as fast as the seed)")
    w: float = Field(MNASNET_W, lt=0, description="soft-constraint exponent (MnasNet -0.07, V3-Small -0.15)")
    beta: float = Field(TUNAS_BETA, lt=0, description="TuNAS absolute-reward weight")
    skip_over_target: bool | None = Field(None, description="a child the latency model prices over the target is "
                                          "not trained (it could never be handed on) but rewarded at the mean "
                                          "accuracy of the children trained so far; null: on under the hard reward "
                                          "(mnasnet_hard), the only one it applies to; false trains every child")

    @model_validator(mode="after")
    def _skip_needs_hard(self) -> RewardConfig:
        if self.skip_over_target and self.kind != "mnasnet_hard":
            raise ConfigIssue("skip_over_target", self.skip_over_target,
                              f"skip_over_target applies to the hard reward only (kind mnasnet_hard); the {self.kind} "
                              f"reward trades latency for accuracy, so every child is trained: drop the setting")
        return self

    @model_validator(mode="after")
    def _one_target(self) -> RewardConfig:
        if (self.target_ms is None) == (self.target_ratio is None):
            raise ConfigIssue("target_ms", {"target_ms": self.target_ms, "target_ratio": self.target_ratio},
                              "set exactly one latency target: target_ms (milliseconds) or target_ratio "
                              "(share of the space's seed architecture's latency, e.g. 1.0)")
        return self


_ONE_SHOT = OneShotConfig()


class OneShotSection(Strict):
    """Weight-sharing (TuNAS-style) search: one supernet over the space, trained through paths the
    controller samples, each step followed (after the warm-up) by a controller step that scores sampled
    paths on a validation batch with the configured reward; then the controller's top_k distinct archs
    are trained stand-alone as Ray Tune trials with `child_training`, and the seed is picked from them.
    Defaults are `search.one_shot.OneShotConfig`'s."""

    steps: int = Field(_ONE_SHOT.steps, ge=1, description="supernet weight steps (training batches)")
    samples_per_step: int = Field(_ONE_SHOT.samples_per_step, ge=1,
                                  description="paths scored per controller step")
    warmup_fraction: float = Field(_ONE_SHOT.warmup_fraction, ge=0, lt=1, description="share of the steps with "
                                   "the controller off and every op / filter trained (all-on odds decay to 0)")
    warmup_schedule: Literal[WARMUP_SCHEDULES] = Field(
        _ONE_SHOT.warmup_schedule, description="how the warm-up trains paths: decay (each decision all-on with odds "
        "decaying to 0) or progressive (OFA's progressive shrinking: the largest path, then SE and depth, then "
        "kernels, then expansions and widths drawn, in equal stages)")
    lr: float = Field(_ONE_SHOT.lr, gt=0, description="supernet SGD learning rate (cosine schedule)")
    momentum: float = Field(_ONE_SHOT.momentum, ge=0, lt=1)
    weight_decay: float = Field(_ONE_SHOT.weight_decay, ge=0)
    label_smoothing: float = Field(_ONE_SHOT.label_smoothing, ge=0, lt=1)
    grad_clip: float = Field(_ONE_SHOT.grad_clip, gt=0)
    quality: Literal[QUALITIES] = Field(_ONE_SHOT.quality, description="what a path's reward takes as "
                                        "accuracy: shared-weight accuracy, or likelihood exp(-loss) (less noisy)")
    checkpoint_every: int = Field(_ONE_SHOT.checkpoint_every, ge=1, description="steps between checkpoints")
    amp: bool = Field(_ONE_SHOT.amp, description="bfloat16 autocast on CUDA (ignored on the CPU)")
    batch_size: int = Field(64, ge=1, description="training batch of a weight step")
    val_batch_size: int = Field(64, ge=1, description="validation batch of a controller step")
    top_k: int = Field(5, ge=1, description="distinct archs trained stand-alone after the one-shot phase")
    rank_by: Literal["probability", "reward"] = Field("probability", description="how the top_k are chosen: the "
                                                       "controller's probability, or the best shared-weight reward")
    uniform_samples: int = Field(100, ge=0, description="after the search, this many uniform paths and the last as "
                                 "many samples are scored by the final supernet (the report's baseline; 0: none)")
    workers: int = Field(1, ge=1, description="data-parallel Ray Train workers for the supernet (1: in this process); "
                         "each takes a share of every batch, with gradients and BatchNorm statistics summed over "
                         "them, so the search follows the 1-worker trajectory; each gets ray.resources_per_trial; "
                         "on a cluster (ray.address) set it to the worker slots, the run directory on shared storage")

    @model_validator(mode="after")
    def _workers_share_batches(self) -> OneShotSection:
        if self.workers > min(self.batch_size, self.val_batch_size):
            raise ConfigIssue("workers", self.workers, f"each worker needs a share of every batch: use at most "
                              f"min(batch_size, val_batch_size) = {min(self.batch_size, self.val_batch_size)} "
                              f"workers, or larger batches")
        return self

    def loop_config(self) -> OneShotConfig:
        """The loop's settings (this section less the phase's own keys)."""
        own = {"batch_size", "val_batch_size", "top_k", "rank_by", "uniform_samples", "workers"}
        return OneShotConfig.from_dict(self.model_dump(exclude=own))


class SearchConfig(Strict):
    """Block-wise search: controller, policy-gradient algorithm, reward, budget, child training.

    `strategy: standalone` trains every sampled child (MnasNet); `one_shot` searches on a weight-sharing
    supernet (`one_shot`) and trains only its top_k children stand-alone."""

    strategy: Literal["standalone", "one_shot"] = "standalone"
    algorithm: Literal[ALGORITHMS] = Field("reinforce", description="reinforce / ppo: the LSTM controller; random, "
                                          "evolution (regularized), tpe (Optuna): baselines through the same seam")
    evolution: EvolutionConfig = EvolutionConfig()
    tpe: TPEConfig = TPEConfig()
    one_shot: OneShotSection = OneShotSection()
    controller: ControllerConfig = ControllerConfig()
    reward: RewardConfig
    children: int = Field(16, ge=1, description="search budget: number of children trained (a proposal of an "
                          "already trained arch is completed from its record, not trained again, and not counted)")
    child_training: TrainingConfig = TrainingConfig(epochs=2)
    failed_child: Literal["skip", "zero"] = Field("skip", description="a failed child is skipped or scored 0")

    @model_validator(mode="after")
    def _one_shot_needs_a_controller(self) -> SearchConfig:
        if self.strategy == "one_shot" and self.algorithm not in ("reinforce", "ppo"):
            raise ConfigIssue("algorithm", self.algorithm, "the one-shot strategy learns with the controller: use "
                              "reinforce or ppo, or strategy standalone for random, evolution or tpe")
        return self


class NetAdaptConfig(Strict):
    """Layer-wise shrinking of the searched seed (MobileNetV3 section 4.2)."""

    target_ratio: float | None = Field(None, gt=0, lt=1, description="target as a share of seed latency")
    target_ms: float | None = Field(None, gt=0, description="target latency in milliseconds")
    delta_ratio: float = Field(0.01, gt=0, lt=1, description="each step cuts >= delta_ratio x seed latency")
    delta_decay: float = Field(1.0, gt=0, le=1, description="delta multiplied by this every iteration")
    finetune_steps: int = Field(200, ge=1, description="short fine-tune per proposal (and of the unchanged "
                                "control every iteration)")
    finetune_lr_scale: float = Field(0.1, gt=0, le=1, description="proposal and control fine-tunes start from "
                                     "train.lr x this, without warm-up, cosine to 0: they continue a trained net, "
                                     "they do not train one")
    final: Literal["long_finetune", "retrain"] = "long_finetune"
    final_steps: int = Field(2000, ge=1, description="steps of the long fine-tune or the retrain")
    selection: Literal["mobilenetv3", "netadapt"] = "mobilenetv3"
    channel_divisor: int = Field(8, ge=1)
    max_iterations: int = Field(50, ge=1)
    max_step_ratio: float | None = Field(2.0, ge=1, description="proposals cutting more than this x delta compete "
                                         "only when no other proposal cuts less, and then only those within one delta "
                                         "of the smallest cut (steps of about delta, not one giant one; null: every "
                                         "proposal competes)")
    min_delta_ratio: float = Field(0.25, gt=0, le=1, description="when no layer can cut delta (a seed far above "
                                   "the target, every layer near its narrowest), delta is halved down to this "
                                   "share of it before the loop stops as stuck; 1: stop at once")
    head_proposals: bool = Field(True, description="also propose narrowing the head's last conv and hidden "
                                 "layer (original NetAdapt shrinks every layer; at small resolutions the head "
                                 "is most of the latency); false: only mid and residual-group widths (V3 paper)")

    @model_validator(mode="after")
    def _one_target(self) -> NetAdaptConfig:
        if (self.target_ratio is None) == (self.target_ms is None):
            raise ConfigIssue("target_ratio", {"target_ratio": self.target_ratio, "target_ms": self.target_ms},
                              "set exactly one target: target_ratio (share of seed latency) or target_ms")
        return self


class LatencyConfig(Strict):
    """How latency is obtained: a lookup table, live benchmarks, or the table filled lazily (auto)."""

    source: Literal["table", "live", "auto"] = "auto"
    backend: Literal["litert", "adb"] = Field("litert", description="litert: the LiteRT interpreter on this "
                                              "machine; adb: benchmark_model on an Android phone")
    threads: int = Field(1, ge=1)
    resolution: int | None = Field(None, ge=16, le=1024, description="null: the data resolution")
    table: Path | None = Field(None, description="lookup table (a JSON file, see `hwnas latency build`); created when lazy_fill is on")
    lazy_fill: bool = Field(True, description="measure and add missing table entries instead of failing")
    runs: int = Field(50, ge=1, description="whole-model live benchmarks: at least this many invokes")
    live_span_s: float = Field(LIVE_SPAN_S, ge=0, le=600, description="the calibration's and the final live "
                               "check's whole models: the median of their 3 fastest windows spread over at least "
                               "this many seconds (this machine's slow modes outlast a few seconds; "
                               "benchmarks/latency_live_span.py)")
    live_max_span_s: float = Field(LIVE_MAX_SPAN_S, ge=0, le=600, description="the final live check goes on, "
                                   "span after span, up to this many seconds while a model's figure from the first "
                                   "half of its windows and from the second differ by more than "
                                   f"{LIVE_REPEAT:.0%}; `netadapt/result.json` says whether it settled "
                                   "(`live_settled`, `live_repeat`), and the report calls an unsettled check undecided (one host's 30 s "
                                   "figures moved 38% within six minutes: benchmarks/latency_live_span.py)")
    calibrate: bool = Field(True, description="fit the table's calibration at the run's resolution from live "
                            "runs of the calibration set (the seed arch, it narrowed, archs near its multiply-adds) when it has none (false: use the table's "
                            "sums uncalibrated, e.g. a phone-measured table you trust)")
    dtype: Literal["float32", "int8"] = Field("float32", description="what is timed: float32 models, or int8 ones "
                                              "quantised as export.int8 does (the paper's Table 4 latencies)")
    adb_serial: str | None = Field(None, description="adb device serial (backend adb); null: the only phone "
                                   "'adb devices' lists")
    adb_benchmark_binary: Path | None = Field(None, description="backend adb: a benchmark_model built for the "
                                              "phone's ABI, pushed to /data/local/tmp/benchmark_model when the run "
                                              "starts; null: use the one already there")
    adb_cores: list[int] | None = Field(None, description="backend adb: cores benchmark_model is pinned to with "
                                        "taskset; null: the highest-numbered core (a big core on most phones)")

    @model_validator(mode="after")
    def _table_needed(self) -> LatencyConfig:
        if self.source == "table" and self.table is None:
            raise ConfigIssue("table", None, "is required when source is 'table' (or use source auto/live)")
        return self

    @model_validator(mode="after")
    def _adb_fields(self, info: ValidationInfo) -> LatencyConfig:
        adb = {"adb_serial": self.adb_serial, "adb_benchmark_binary": self.adb_benchmark_binary,
               "adb_cores": self.adb_cores}
        for key, value in adb.items():
            if value is not None and self.backend != "adb":
                raise ConfigIssue(key, str(value) if isinstance(value, Path) else value,
                                  "applies to backend adb only: set latency.backend: adb, or drop it")
        cores = self.adb_cores
        if cores is not None and (not cores or min(cores) < 0 or len(set(cores)) != len(cores)):
            raise ConfigIssue("adb_cores", cores, "must list distinct core numbers >= 0, e.g. [7] or [4, 5]; "
                              "null picks the highest-numbered core")
        binary = self.adb_benchmark_binary
        if binary is not None and (info.context or {}).get("filesystem") and not binary.is_file():
            raise ConfigIssue("adb_benchmark_binary", str(self.adb_benchmark_binary),
                              "does not exist on this machine: give the path of a benchmark_model built for the "
                              "phone's ABI, or null to use the one already on the phone")
        return self


class TrialResources(Strict):
    cpu: float = Field(1.0, gt=0)
    gpu: float = Field(0.0, ge=0)


_RAY_ADDRESS = re.compile(r"auto|(ray://)?[A-Za-z0-9.\-_]+:\d{1,5}")


class RayConfig(Strict):
    """Local Ray (address null) or an existing cluster (`auto` or host:port / ray://host:port)."""

    address: str | None = None
    num_cpus: int | None = Field(None, ge=1, description="local Ray only; null: all cores")
    max_concurrent_trials: int = Field(2, ge=1)
    resources_per_trial: TrialResources = TrialResources()
    include_dashboard: bool = True
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(8265, ge=1024, le=65535)

    @field_validator("address")
    @classmethod
    def _address_form(cls, value: str | None) -> str | None:
        if value is not None and not _RAY_ADDRESS.fullmatch(value):
            raise ValueError("must be null (start a local Ray), 'auto' (join the running cluster) or "
                             "host:port / ray://host:port")
        return value


class ExportConfig(Strict):
    formats: list[Literal["tflite", "onnx"]] = ["tflite", "onnx"]
    int8: bool = Field(False, description="also export an int8 post-training-quantized .tflite")

    @field_validator("formats")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a format twice; allowed: tflite, onnx, each at most once")
        return value


class PipelineConfig(Strict):
    """What `hwnas run` does between the search and NetAdapt."""

    seed_rule: Literal["best_reward", "best_accuracy"] = Field(
        "best_reward", description="which searched child seeds NetAdapt, among the children within the search's "
                                    "latency target (any child when none is; ignored when seed_arch is set)")
    seed_arch: str | None = Field(None, description="a reference name, compact arch string or arch YAML that "
                                                    "seeds NetAdapt instead of the search's pick")
    references: list[str] | None = Field(
        None, description="reference nets trained for the report with the final model's recipe and NetAdapt's "
                          "total steps; null: the MobileNetV3 pair (width 1.0 and 0.75) of the space's family; "
                          "[] trains none")

    @field_validator("seed_arch")
    @classmethod
    def _seed_arch_resolves(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and (info.context or {}).get("filesystem"):
            _check_arch(value)
        return value

    @field_validator("references")
    @classmethod
    def _references_resolve(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if value is not None and (info.context or {}).get("filesystem"):
            for item in value:
                _check_arch(item)
        return value


def _check_arch(text: str) -> None:
    try:
        resolve_arch(text)
    except SpecError as err:
        raise ValueError(str(err)) from None


class Config(Strict):
    """A whole run. `name` names the run directory `<output_dir>/<name>/`."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                      description="letters, digits, '.', '_' or '-' (it names the run directory)")
    seed: int = Field(0, ge=0)
    output_dir: Path = Path("runs")
    data: DataConfig = DataConfig()
    space: str = Field("mnv3-small", description="search-space name or YAML path")
    train: TrainingConfig = TrainingConfig(epochs=10)
    search: SearchConfig | None = None
    netadapt: NetAdaptConfig | None = None
    latency: LatencyConfig = LatencyConfig()
    ray: RayConfig = RayConfig()
    export: ExportConfig = ExportConfig()
    pipeline: PipelineConfig = PipelineConfig()

    @field_validator("space")
    @classmethod
    def _space_resolves(cls, value: str, info: ValidationInfo) -> str:
        if (info.context or {}).get("filesystem"):
            try:
                resolve_space(value)
            except SpaceError as err:
                raise ValueError(str(err)) from None
        return value

    @model_validator(mode="after")
    def _resolve_defaults(self) -> Config:
        if self.latency.resolution is None:
            self.latency.resolution = self.data.resolution
        return self

    def to_yaml(self) -> str:
        """The resolved config, every default written out; `load_config` reads it back unchanged."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def validate_config(data: Any, source: str = "<config>", check_files: bool = True) -> Config:
    """Validate a mapping; `check_files` also checks that paths exist and the space resolves."""
    if not isinstance(data, dict):
        raise ConfigError(source, [f"<root>: got {type(data).__name__}; a config is a YAML mapping "
                                   f"(name: ..., data: ..., ...)"])
    try:
        return Config.model_validate(data, context={"filesystem": check_files})
    except ValidationError as err:
        raise ConfigError(source, format_pydantic_errors(err, Config)) from None


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file with yaml.safe_load; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise ConfigError(str(path), [f"<file>: cannot read it ({err.strerror}); check the path"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(str(path), [f"<file>: not valid YAML: {err}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), [f"<root>: got {type(data).__name__}; a config is a YAML mapping"])
    return data


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = (), check_files: bool = True) -> Config:
    """Read `path`, apply `key=value` overrides (dotted paths, YAML-typed values) and validate."""
    data = apply_overrides(read_yaml_mapping(path), overrides, source=str(path))
    return validate_config(data, source=str(path), check_files=check_files)
