"""Report section (e): the final model card: per-block architecture table (analytic params and
multiply-adds), accuracy, measured latency per exported format with its parity check, and the
files of `final/` with their sizes."""

from __future__ import annotations

import pickle
from typing import Any

import torch

from experiments.report.markdown import not_run, num, size, source, table
from experiments.rundir.layout import FINAL_ARCH as ARCH
from experiments.rundir.layout import FINAL_DIR
from experiments.rundir.layout import FINAL_EXPORT as EXPORT
from experiments.rundir.layout import FINAL_METRICS as METRICS
from experiments.rundir.layout import FINAL_WEIGHTS as WEIGHTS
from experiments.rundir.run_dir import RunDir, SourceError
from models.counting import layer_costs

TITLE = "## Final model card"


def _pick(mapping: dict[str, Any] | None, *keys: str) -> Any:
    for key in keys:
        if mapping and mapping.get(key) is not None:
            return mapping[key]
    return None


def _classes(run: RunDir, export: dict[str, Any] | None, metrics: dict[str, Any] | None) -> int:
    """From export.json, else metrics.json, else the classifier's rows in final/weights.pt."""
    inputs = (export or {}).get("inputs") or {}
    found = inputs.get("num_classes") or ((metrics or {}).get("data") or {}).get("classes") \
        or (metrics or {}).get("num_classes")
    if found is None and run.has(WEIGHTS):
        try:
            state = torch.load(run.root / WEIGHTS, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, pickle.UnpicklingError) as err:
            raise SourceError(f"`{WEIGHTS}` cannot be read as a state_dict: {err}") from None
        matrices = [v for v in state.values() if isinstance(v, torch.Tensor) and v.ndim >= 2]
        found = matrices[-1].shape[0] if matrices else None
    if found is None:
        raise SourceError(f"cannot tell the number of classes: neither `{EXPORT}` (inputs.num_classes), "
                          f"`{METRICS}` (data.classes) nor `{WEIGHTS}` gives it")
    return int(found)


def _resized_note(inputs: dict) -> list[str]:
    """A line when the files take another resolution than the data (exported at the latency resolution)."""
    trained, exported = inputs.get("data_resolution"), inputs.get("resolution")
    if trained is None or trained == exported:
        return []
    return [f"The files take {exported} px inputs, the resolution the latency is timed at; the model was trained "
            f"on {trained} px images, so these checks run on the test images resized to {exported} px: their "
            f"accuracies are of resized images, not the model's test accuracy above.", ""]


def _parity(entry: dict[str, Any]) -> str:
    p = entry.get("parity") or {}
    if "passed" in p:
        return f"max abs diff {num(p.get('max_abs_diff'), '.1e')} ({'ok' if p['passed'] else 'FAILED'})"
    return f"top-1 agreement {num(p.get('top1_agreement'))}"


def _runtime(bench: dict[str, Any]) -> str:
    name = bench.get("runtime", "-")
    return f"{name}, {'XNNPACK' if bench['xnnpack'] else 'builtin kernels'}" if "xnnpack" in bench and \
        "litert" in name else name


def model_card(run: RunDir) -> str:
    arch = run.arch(ARCH)
    if arch is None:
        return "\n".join([TITLE, "", not_run("the final training", [ARCH])])
    metrics, export = run.json(METRICS), run.json(EXPORT)
    resolution = int(_pick((export or {}).get("inputs"), "resolution") or run.setting("latency", "resolution")
                     or run.setting("data", "resolution", default=224))
    classes = _classes(run, export, metrics)
    costs = layer_costs(arch, resolution, classes)
    params, madds = sum(c.params for c in costs), sum(c.madds for c in costs)
    lines = [TITLE, "", f"`{arch.to_str()}`", "",
             f"Input {resolution}x{resolution}x3, {classes} classes.", ""]
    rows = [(c.name, f"`{c.token}`", "x".join(map(str, c.out_shape)), f"{c.params:,}", f"{c.madds:,}") for c in costs]
    rows.append(("**total**", "", "", f"**{params:,}**", f"**{madds:,}**"))
    lines += [table(("layer", "spec", "output (CxHxW)", "params", "MAdds"), rows), ""]
    facts = [("parameters", f"{params:,}"), ("multiply-adds", f"{madds:,}"),
             ("test accuracy (PyTorch)", num(_pick(metrics, "test_accuracy"))),
             ("validation accuracy", num(_pick(metrics, "val_accuracy"))),
             ("predicted latency (ms)", num(_pick(metrics, "predicted_ms", "latency_ms")))]
    if metrics is None:
        lines += [not_run("the final training's metrics", [METRICS]), ""]
    if export is not None:
        for fmt, entry in (export.get("models") or {}).items():
            facts.append((f"measured latency, {entry['path']} (ms)", num(entry["bench"]["median_ms"])))
    lines += [table(("", ""), facts), ""]
    if export is None:
        lines += [not_run("the export", [EXPORT]), ""]
    else:
        rows = []
        for fmt, entry in export["models"].items():
            b, p = entry["bench"], entry.get("parity") or {}
            rows.append((f"`{entry['path']}`", entry.get("dtype", "-"), size(int(entry["size_bytes"])), _parity(entry),
                         num(p.get("accuracy")), num(b["median_ms"], ".3f"), num(b["p10_ms"], ".3f"),
                         num(b["p90_ms"], ".3f"), num(b["runs"], "d"), _runtime(b)))
            alt = entry.get("bench_builtin_kernels")
            if alt:
                rows.append((f"`{entry['path']}`", "", "", "", "", num(alt["median_ms"], ".3f"), num(alt["p10_ms"], ".3f"),
                             num(alt["p90_ms"], ".3f"), num(alt["runs"], "d"), _runtime(alt)))
        lines += [f"Exported files, each checked against PyTorch on the test split and benchmarked live "
                  f"({num(export['inputs']['bench'].get('threads'), 'd')} thread(s)); PyTorch test accuracy "
                  f"{num(export.get('torch_test_accuracy'))}:", "",
                  table(("file", "dtype", "size", "parity", "test acc", "median ms", "p10 ms", "p90 ms", "runs",
                         "runtime"), rows), "", *_resized_note(export["inputs"]),
                  "Reproduce a timing: " + "; ".join(f"`{b['command']}`" for e in export["models"].values()
                                                     for b in (e["bench"], e.get("bench_builtin_kernels") or {})
                                                     if "command" in b), ""]
    files = sorted(p for p in (run.root / FINAL_DIR).iterdir() if p.is_file() and not p.name.startswith("."))
    lines += ["Files in `final/`:", "", table(("file", "size"), ((f"`final/{p.name}`", size(p.stat().st_size))
                                                                  for p in files)), "",
              source(*(f for f in (ARCH, METRICS, EXPORT) if run.has(f)))]
    return "\n".join(lines)
