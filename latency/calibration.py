"""Calibration: what is left between summed pieces and whole models once pieces are timed in
context (`latency.litert_bench`; a warm loop kept each piece's weights in L2 and under-predicted by
10-27% at 32x32; per-invoke overhead, ~0.5 us, is negligible). A per-resolution linear correction,
``measured ~= scale * summed + offset_ms``, is fitted by least squares on whole-model live runs of
random archs (`hwnas latency calibrate`; the references and the validation sample are other archs)
and stored in the table under ``calibration[str(resolution)]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from latency.errors import LatencyError


@dataclass(frozen=True)
class Calibration:
    scale: float
    offset_ms: float
    samples: int
    rmspe_before: float
    rmspe_after: float

    def apply(self, summed_ms):
        return self.scale * summed_ms + self.offset_ms

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        try:
            return cls(**{k: data[k] for k in ("scale", "offset_ms", "samples", "rmspe_before", "rmspe_after")})
        except (KeyError, TypeError) as err:
            raise LatencyError(f"calibration entry {data!r} is malformed ({err}); refit it with "
                               f"'hwnas latency calibrate'") from err


def rmspe(predicted, measured) -> float:
    """Root mean squared percentage error, in percent."""
    p, m = np.asarray(predicted, float), np.asarray(measured, float)
    return float(np.sqrt(np.mean(((p - m) / m) ** 2)) * 100)


def fit_calibration(summed_ms, measured_ms) -> Calibration:
    """Least squares on relative error (rows weighted by 1/measured), so small and large models
    count alike."""
    s, m = np.asarray(summed_ms, float), np.asarray(measured_ms, float)
    if s.size < 2:
        raise LatencyError(f"calibration needs at least 2 whole-model measurements, got {s.size}")
    design = np.stack([s / m, 1.0 / m], axis=1)
    (scale, offset), *_ = np.linalg.lstsq(design, np.ones_like(m), rcond=None)
    fitted = Calibration(float(scale), float(offset), int(s.size), rmspe(s, m), 0.0)
    return Calibration(fitted.scale, fitted.offset_ms, fitted.samples, fitted.rmspe_before,
                       rmspe(fitted.apply(s), m))
