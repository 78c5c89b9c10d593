"""Loading trained weights: the one way every phase, command and benchmark gets a trained model back.

Weights are plain `state_dict`s saved by this project (`weights.pt`), read with
`torch.load(weights_only=True)`, so nothing but tensors is ever unpickled. `load_trained` builds the
spec and loads them, or raises `WeightsError` naming the file, the arch and the class count when they
do not match (callers turn it into their own user-facing error).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from models.builder import MobileNet, build_model
from models.spec import ArchSpec

StateDict = dict[str, torch.Tensor]


class WeightsError(ValueError):
    """A weights file that is missing, unreadable, or not a state_dict of the given arch."""


def load_weights(path: str | Path) -> StateDict:
    """A `state_dict` saved by this project; never unpickles anything but tensors."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{path} does not exist") from None
    except (OSError, RuntimeError, pickle.UnpicklingError) as err:
        raise WeightsError(f"{path} cannot be read as a state_dict ({str(err).strip().splitlines()[0][:200]})") from None


def state_dict_cpu(model: torch.nn.Module) -> StateDict:
    """The model's weights as contiguous CPU tensors, ready to save or send to another process."""
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def load_trained(spec: ArchSpec, weights: str | Path | StateDict, num_classes: int, dropout: float = 0.2) -> MobileNet:
    """`spec` built for `num_classes` with `weights` (a path or a state_dict) loaded, in eval mode."""
    state = weights if isinstance(weights, dict) else load_weights(weights)
    model = build_model(spec, num_classes=num_classes, dropout=dropout)
    try:
        model.load_state_dict(state)
    except (RuntimeError, AttributeError, TypeError) as err:
        where = weights if not isinstance(weights, dict) else "the given state_dict"
        first = str(err).strip().splitlines()[0][:300]
        raise WeightsError(f"{where} does not hold a state_dict of {spec.to_str()} for {num_classes} classes "
                           f"({first})") from None
    return model.eval()
