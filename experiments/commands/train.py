"""`hwnas train CONFIG --arch NAME_OR_SPEC`: train one architecture with the config's `train` recipe.

Writes into `<output_dir>/<name>/`: the resolved `config.yaml`, `manifest.json`, `arch.yaml`,
`weights.pt` (a `state_dict`), and `metrics.json` (validation and test accuracy, per-epoch history,
throughput, params and multiply-adds).
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from experiments.commands.common import add_config_args
from experiments.config.checks import preflight
from experiments.config.schema import load_config
from experiments.rundir import layout
from experiments.rundir.run_dir import RunDir
from experiments.training.arch import save_trained, train_arch
from experiments.training.loop import EpochReport, TrainingDiverged
from models import resolve_arch
from models.references import REFERENCES

EXAMPLES = f"""examples:
  hwnas train experiments/configs/demo.yaml --arch mobilenetv3-small
  hwnas train experiments/configs/demo.yaml --arch runs/search/best/arch.yaml --epochs 30 name=best-long
  hwnas train experiments/configs/demo.yaml --arch mobilenetv3-small-0.75 --steps 50 train.lr=0.05
  hwnas train my.yaml --arch mobilenetv3-small --resume

NAME_OR_SPEC: a reference name ({', '.join(REFERENCES)}), a compact arch string, or an arch YAML file.
"""

def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("train", help="train one architecture and write weights, metrics and arch.yaml",
                            description=__doc__, epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_args(parser)
    parser.add_argument("--arch", required=True, metavar="NAME_OR_SPEC", help="architecture to train")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="budget in optimizer steps (replaces train.epochs/steps)")
    budget.add_argument("--epochs", type=float, help="budget in epochs (replaces train.epochs/steps)")
    parser.add_argument("--resume", action="store_true", help="reuse an existing run directory of the same config")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run_train)


def run_train(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.steps is not None:
        overrides += [f"train.steps={args.steps}", "train.epochs=null"]
    if args.epochs is not None:
        overrides += [f"train.epochs={args.epochs}", "train.steps=null"]
    cfg = load_config(args.config, overrides)
    spec = resolve_arch(args.arch)
    data = preflight(cfg, args.config)
    run = RunDir.create(cfg, resume=args.resume, command=["hwnas", "train", *sys.argv[2:]])
    if args.resume and run.path(layout.METRICS).is_file():
        print(f"hwnas train: {run.path(layout.METRICS)} exists; this run is complete, nothing to do")
        return 0

    def report(r: EpochReport) -> None:
        tqdm.write(f"epoch {r.epoch}: step {r.step}, train loss {r.train_loss:.3f}, val acc {r.val_accuracy:.4f}, "
                   f"{r.seconds:.0f} s")

    print(f"hwnas train: {spec.to_str()} on {data.summary()} -> {run.root}", flush=True)
    try:
        model, metrics = train_arch(spec, data, cfg.train, seed=cfg.seed, augment=cfg.data.augment, on_epoch=report,
                                    progress=not args.no_progress, desc="train")
    except TrainingDiverged as err:
        print(f"hwnas train: error: training diverged: {err}", file=sys.stderr)
        return 1
    save_trained(run, ".", spec, model, metrics)
    print(f"hwnas train: val acc {metrics['val_accuracy']:.4f}, test acc {metrics['test_accuracy']:.4f} "
          f"({metrics['images_per_second']:.0f} images/s); wrote {run.root}/{{weights.pt,metrics.json,arch.yaml}}")
    return 0
