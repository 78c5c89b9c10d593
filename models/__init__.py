"""Models: the immutable ArchSpec, blocks and builder, reference MobileNetV3s, analytic costs, surgery."""

from models.builder import MobileNet, build_model
from models.counting import count_madds, count_params, layer_costs
from models.references import REFERENCES, resolve_arch
from models.spec import ArchSpec, BlockSpec, HeadSpec, ResidualGroup, SpecError, StemSpec, make_divisible
from models.surgery import narrow

__all__ = [
    "REFERENCES", "ArchSpec", "BlockSpec", "HeadSpec", "MobileNet", "ResidualGroup", "SpecError", "StemSpec",
    "build_model", "count_madds", "count_params", "layer_costs", "make_divisible", "narrow", "resolve_arch",
]
