"""`hwnas netadapt` rejects bad input with exit code 2, a message naming the fix, and no run directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from netadapt_helpers import TINY_SEED, write_config

from experiments.cli import main


@pytest.mark.parametrize(("extra", "message"), [
    (["--seed-arch", "stem_c16_hs-ir_k4_m16_c16_s2_re-head_c32_h64_hs"], "kernel 4 is not allowed"),
    (["--seed-arch", TINY_SEED, "--seed-weights", "missing.pt"], "--seed-weights: missing.pt does not exist"),
    (["netadapt.delta_ratio=2"], "netadapt.delta_ratio"),
])
def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    config = write_config(tmp_path)
    assert main(["netadapt", str(config), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_weights_of_another_arch_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    from models import build_model, resolve_arch

    weights = tmp_path / "other.pt"
    torch.save(build_model(resolve_arch(TINY_SEED), num_classes=10).state_dict(), weights)
    code = main(["netadapt", str(write_config(tmp_path)), "--seed-arch", "mobilenetv3-small",
                 "--seed-weights", str(weights)])
    assert code == 2 and "pass the matching --seed-arch" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_config_without_netadapt_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["netadapt", str(write_config(tmp_path, netadapt=None))]) == 2
    assert "netadapt: missing" in capsys.readouterr().err
