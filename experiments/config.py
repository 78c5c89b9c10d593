"""The run configuration: a strict, typed schema for the YAML files in `experiments/configs/`.

Every section is a pydantic model with `extra="forbid"`, so a typo is an error, not a silently
ignored key. `load_config` parses a YAML file, applies `key=value` overrides (see
`experiments.overrides`), and validates everything in one pass: a `ConfigError` lists every problem
at once, each with its YAML path (e.g. `search.reward.w`), the bad value and what is allowed.
Filesystem facts (a dataset path exists, a space name resolves) are checked here as well; reading
the data and comparing a latency table are left to `experiments.checks.preflight`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from experiments.errors import ConfigError, ConfigIssue, format_pydantic_errors
from experiments.overrides import apply_overrides
from experiments.spaces import resolve_space
from search.space import SpaceError


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


class ControllerConfig(Strict):
    """The LSTM controller of the block-wise search."""

    hidden_size: int = Field(64, ge=1)
    embedding_size: int = Field(32, ge=1)
    lr: float = Field(5e-3, gt=0)
    temperature: float = Field(1.0, gt=0)
    tanh_clip: float | None = Field(2.5, gt=0, description="logits -> c*tanh(logits/c); null disables")
    entropy_weight: float = Field(1e-3, ge=0)
    baseline_decay: float = Field(0.95, ge=0, lt=1, description="REINFORCE moving-average baseline")
    ppo_clip: float = Field(0.2, gt=0, lt=1)
    ppo_epochs: int = Field(4, ge=1)
    batch_size: int = Field(4, ge=1, description="children per policy update")


class RewardConfig(Strict):
    """MnasNet soft / hard constraint, or TuNAS absolute reward (see MOBILENETV3.md section 1)."""

    kind: Literal["mnasnet_soft", "mnasnet_hard", "tunas_abs"] = "mnasnet_soft"
    target_ms: float = Field(..., gt=0, description="latency target in milliseconds")
    w: float = Field(-0.07, lt=0, description="soft-constraint exponent (MnasNet -0.07, V3-Small -0.15)")
    beta: float = Field(-0.10, lt=0, description="TuNAS absolute-reward weight")


class SearchConfig(Strict):
    """Block-wise search: controller, policy-gradient algorithm, reward, budget, child training."""

    algorithm: Literal["reinforce", "ppo"] = "reinforce"
    controller: ControllerConfig = ControllerConfig()
    reward: RewardConfig
    children: int = Field(16, ge=1, description="search budget: number of sampled children")
    child_training: TrainingConfig = TrainingConfig(epochs=2)
    failed_child: Literal["skip", "zero"] = Field("skip", description="a failed child is skipped or scored 0")


class NetAdaptConfig(Strict):
    """Layer-wise shrinking of the searched seed (MobileNetV3 section 4.2)."""

    target_ratio: float | None = Field(None, gt=0, lt=1, description="target as a share of seed latency")
    target_ms: float | None = Field(None, gt=0, description="target latency in milliseconds")
    delta_ratio: float = Field(0.01, gt=0, lt=1, description="each step cuts >= delta_ratio x seed latency")
    delta_decay: float = Field(1.0, gt=0, le=1, description="delta multiplied by this every iteration")
    finetune_steps: int = Field(200, ge=1, description="short fine-tune per proposal")
    final: Literal["long_finetune", "retrain"] = "long_finetune"
    final_steps: int = Field(2000, ge=1, description="steps of the long fine-tune or the retrain")
    selection: Literal["mobilenetv3", "netadapt"] = "mobilenetv3"
    channel_divisor: int = Field(8, ge=1)
    max_iterations: int = Field(50, ge=1)

    @model_validator(mode="after")
    def _one_target(self) -> NetAdaptConfig:
        if (self.target_ratio is None) == (self.target_ms is None):
            raise ConfigIssue("target_ratio", {"target_ratio": self.target_ratio, "target_ms": self.target_ms},
                              "set exactly one target: target_ratio (share of seed latency) or target_ms")
        return self


class LatencyConfig(Strict):
    """How latency is obtained: a lookup table, live benchmarks, or the table filled lazily (auto)."""

    source: Literal["table", "live", "auto"] = "auto"
    backend: Literal["litert", "onnxruntime", "adb"] = "litert"
    threads: int = Field(1, ge=1)
    resolution: int | None = Field(None, ge=16, le=1024, description="null: the data resolution")
    table: Path | None = Field(None, description="lookup table (JSON or CSV); created when lazy_fill is on")
    lazy_fill: bool = Field(True, description="measure and add missing table entries instead of failing")
    warmup_runs: int = Field(5, ge=0)
    runs: int = Field(50, ge=1)
    adb_serial: str | None = Field(None, description="adb device serial (backend adb)")

    @model_validator(mode="after")
    def _table_needed(self) -> LatencyConfig:
        if self.source == "table" and self.table is None:
            raise ConfigIssue("table", None, "is required when source is 'table' (or use source auto/live)")
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
