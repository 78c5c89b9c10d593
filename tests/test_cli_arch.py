"""`hwnas arch show`: the table, the JSON contract and exit code 2 on bad specs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from experiments.cli import main
from models.references import REFERENCES


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["arch", "show", "mobilenetv3-large", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["params"] == 5_483_032
    assert isinstance(data["madds"], int) and abs(data["madds"] - 216.6e6) / 216.6e6 < 0.01
    assert data["arch"] == REFERENCES["mobilenetv3-large"].to_str()


def test_table_with_resolution_and_classes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["arch", "show", "mobilenetv3-small-0.75", "--resolution", "32", "--classes", "10"]) == 0
    out = capsys.readouterr().out
    assert "block10" in out and "10x1x1" in out and "resolution 32, 10 classes" in out


def test_spec_string_and_yaml_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = REFERENCES["mobilenetv3-small"]
    path = tmp_path / "arch.yaml"
    path.write_text(spec.to_yaml())
    for arg in (spec.to_str(), str(path)):
        assert main(["arch", "show", arg, "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["params"] == 2_542_856


@pytest.mark.parametrize("bad", ["stem_c16_hs-ir_k4_m16_c16_s2_re-head_c8_h8_hs", "mobilenetv9", "nope.yaml"])
def test_invalid_spec_exits_2_with_nothing_on_stdout(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["arch", "show", bad, "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "error" in err


def test_the_process_exit_code_is_2_for_an_invalid_spec() -> None:
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "arch", "show", "mobilenetv9", "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == "" and "error" in proc.stderr
