"""`hwnas arch show`: the per-block table of an architecture (output shape, params, MAdds)."""

from __future__ import annotations

import argparse
import json

from models.counting import layer_costs
from models.references import REFERENCES, resolve_arch
from models.spec import SpecError

EXAMPLES = """examples:
  hwnas arch show mobilenetv3-small
  hwnas arch show mobilenetv3-large-0.75 --resolution 160 --classes 10 --json
  hwnas arch show runs/demo/final/arch.yaml
  hwnas arch show stem_c16_hs-ir_k3_m16_c16_s2_se_re-ir_k3_m72_c24_s2_re-head_c576_h1024_hs
"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("arch", help="inspect architectures", description="Inspect architectures.")
    arch_sub = parser.add_subparsers(dest="arch_command", metavar="ACTION", required=True)
    show = arch_sub.add_parser(
        "show",
        help="per-block table with output shape, params and multiply-adds",
        description="Per-block table of an architecture. NAME_OR_SPEC is a reference name "
        f"({', '.join(REFERENCES)}), a compact arch string, or an arch YAML file.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("arch", metavar="NAME_OR_SPEC")
    show.add_argument("--resolution", type=int, default=224, help="input height and width (default 224)")
    show.add_argument("--classes", type=int, default=1000, help="number of classes (default 1000)")
    show.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    show.set_defaults(func=run_show)


def run_show(args: argparse.Namespace) -> int:
    if args.resolution < 32:
        raise SpecError(f"--resolution must be at least 32, got {args.resolution}")
    if args.classes < 1:
        raise SpecError(f"--classes must be a positive integer, got {args.classes}")
    spec = resolve_arch(args.arch)
    rows = layer_costs(spec, args.resolution, args.classes)
    params = sum(r.params for r in rows)
    madds = sum(r.madds for r in rows)
    if args.json:
        print(json.dumps({
            "arch": spec.to_str(),
            "params": params,
            "madds": madds,
            "resolution": args.resolution,
            "classes": args.classes,
            "layers": [
                {"name": r.name, "token": r.token, "out_shape": list(r.out_shape), "params": r.params,
                 "madds": r.madds}
                for r in rows
            ],
        }, indent=2))
        return 0
    width = max(len(r.token) for r in rows)
    print(f"{'layer':<8} {'spec':<{width}} {'output (CxHxW)':>15} {'params':>11} {'MAdds':>13}")
    for r in rows:
        shape = "x".join(str(d) for d in r.out_shape)
        print(f"{r.name:<8} {r.token:<{width}} {shape:>15} {r.params:>11,} {r.madds:>13,}")
    print(f"{'total':<8} {'':<{width}} {'':>15} {params:>11,} {madds:>13,}")
    print(f"\n{spec.to_str()}\nresolution {args.resolution}, {args.classes} classes: "
          f"{params / 1e6:.3f} M params, {madds / 1e6:.1f} M multiply-adds")
    return 0
