"""Calibration: what is left between summed pieces and whole models. A per-resolution linear
correction, ``measured ~= scale * summed + offset_ms``, is fitted by least squares on whole-model
live runs of archs (`calibrate_from_runs`: a run's own archs, or `hwnas latency calibrate`'s random
sample) and stored in the table under ``calibration[str(resolution)]`` with the archs it was fitted
on and their live medians, so that fidelity is never evaluated on them (`calibration_archs`) and
a baseline predictor can be fitted on the same runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from latency.errors import LatencyError
from models.spec import ArchSpec

FIELDS = ("scale", "offset_ms", "samples", "rmspe_before", "rmspe_after")


@dataclass(frozen=True)
class Calibration:
    scale: float
    offset_ms: float
    samples: int
    rmspe_before: float
    rmspe_after: float
    archs: tuple[str, ...] = ()
    measured_ms: tuple[float, ...] = ()

    def apply(self, summed_ms):
        return self.scale * summed_ms + self.offset_ms

    def to_dict(self) -> dict:
        return {**asdict(self), "archs": list(self.archs), "measured_ms": list(self.measured_ms)}

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        try:
            return cls(**{k: data[k] for k in FIELDS}, archs=tuple(data.get("archs", ())),
                       measured_ms=tuple(data.get("measured_ms", ())))
        except (KeyError, TypeError) as err:
            raise LatencyError(f"calibration entry {data!r} is malformed ({err}); refit it with "
                               f"'hwnas latency calibrate'") from err


def rmspe(predicted, measured) -> float:
    """Root mean squared percentage error, in percent."""
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    return float(np.sqrt(np.mean(((p - m) / m) ** 2)) * 100)


def fit_calibration(summed_ms, measured_ms, archs: Sequence[str] = (), affine: bool = True) -> Calibration:
    """Least squares on relative error (rows weighted by 1/measured), so small and large models
    count alike. Not `affine`, or with fewer than 3 archs, archs too alike for a slope, a fitted offset below 0 or a
    slope not above 0, only the scale is fitted: a negative offset predicts ever less for smaller models,
    down to 0 ms (seen: 5 noisy whole-model runs gave 2.17 x summed - 1.53 ms, and a search then chased
    archs the fit priced at a third of their measured latency); a slope <= 0 prices a narrower model at
    the same or more (seen: a seed and its x0.9 / x0.75 narrowings timed 0.0265, 0.0265, 0.0288 ms on a
    noisy host gave -0.15 x summed + 0.033 ms, and NetAdapt stopped at once, every cut priced as a rise)."""
    s, m = np.asarray(summed_ms, float), np.asarray(measured_ms, float)
    if s.size < 1:
        raise LatencyError("calibration needs at least 1 whole-model measurement, got none")
    scale, offset = float(np.sum(s / m) / np.sum((s / m) ** 2)), 0.0
    if affine and s.size >= 3 and np.ptp(s) > 0.05 * s.mean():
        design = np.stack([s / m, 1.0 / m], axis=1)
        (affine_scale, affine_offset), *_ = np.linalg.lstsq(design, np.ones_like(m), rcond=None)
        if affine_offset >= 0 and affine_scale > 0:
            scale, offset = float(affine_scale), float(affine_offset)
    fitted = Calibration(float(scale), float(offset), int(s.size), rmspe(s, m), 0.0)
    return Calibration(fitted.scale, fitted.offset_ms, fitted.samples, fitted.rmspe_before,
                       rmspe(fitted.apply(s), m), tuple(archs), tuple(float(v) for v in m))


def calibrate_from_runs(table, resolution: int, specs: Sequence[ArchSpec], summed: Callable[[ArchSpec], float],
                        live: Callable[[Sequence[ArchSpec]], Sequence[float]], save: bool = True) -> Calibration:
    """Fit the table's calibration at `resolution` from whole-model live runs of `specs` (a run's own
    archs: its seed, references or best children), store it with the archs' strings and save.
    `summed`: the uncalibrated table prediction (`TableLatency.summed_ms`); `live`: medians of the
    whole models, timed together (`LiveLatency.measure_many`)."""
    specs = list(dict.fromkeys(specs))
    predicted = [summed(s) for s in specs]  # fills missing keys before the live runs
    measured = list(live(specs))
    calib = fit_calibration(predicted, measured, [s.to_str() for s in specs])
    table.calibration[str(resolution)] = calib.to_dict()
    if save:
        table.save()
    return calib


def calibration_archs(table, resolution: int) -> set[str]:
    """The arch strings the table's calibration at `resolution` was fitted on (fidelity must skip them)."""
    return set(table.calibration.get(str(resolution), {}).get("archs", []))
