"""A fake `adb` for the phone-backend tests: an executable placed first on PATH that records every
call and behaves like a phone with a small file system, checking the protocol as a phone would:
- `-s SERIAL` must name a connected phone (several connected and none named is an error, as adb's);
- `push LOCAL REMOTE` copies into the fake phone's /data/local/tmp (anywhere else is refused)
  without the execute bit; `shell chmod 755 PATH` sets it;
- `shell "taskset MASK BINARY --flag=value ..."`: MASK must be a hex mask of present cores, BINARY
  must be on the phone and executable, the flags must be exactly benchmark_model's ones that
  latency/adb.py passes (an unknown or missing flag fails, as benchmark_model refuses unknown
  flags), --graph must name a pushed TFLite file. It prints a benchmark_model log whose timings
  follow the pushed file's size (`fake_median_us`), or the canned log in $FAKE_BENCH_OUTPUT;
- `shell getprop P`, `cat /sys/devices/system/cpu/present|online` ($FAKE_ONLINE: the cores switched
  on, default all; taskset refuses an offline core as the kernel does), and the binary check of
  `AdbDevice.runtime` (`[ -x B ]` then md5sum) answer like a Pixel; anything else fails.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

REMOTE_BINARY = "/data/local/tmp/benchmark_model"
PROPS = {"ro.product.manufacturer": "Google", "ro.product.model": "Pixel 1", "ro.soc.model": "MSM8996",
         "ro.board.platform": "msm8996", "ro.product.cpu.abi": "arm64-v8a", "ro.build.version.release": "10",
         "ro.build.fingerprint": "google/sailfish/sailfish:10/QP1A/123:user/release-keys"}
BENCH_FLAGS = {"graph", "num_threads", "use_xnnpack", "warmup_runs", "warmup_min_secs", "num_runs", "min_secs"}

FAKE_ADB = r'''#!{python}
import hashlib, json, os, re, shlex, shutil, sys
from pathlib import Path

PROPS = {props}
FLAGS = {flags}
args = sys.argv[1:]
with open(os.environ["FAKE_ADB_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
root = Path(os.environ["FAKE_PHONE"])
serials = os.environ.get("FAKE_ADB_SERIALS", "PHONE1").split(",")
cores = os.environ.get("FAKE_CORES", "0-7")
present = set(range(int(cores.split("-")[0]), int(cores.split("-")[-1]) + 1))
online_text = os.environ.get("FAKE_ONLINE") or cores
online = {{int(c) for part in online_text.split(",") for c in
          range(int(part.split("-")[0]), int(part.split("-")[-1]) + 1)}}


def fail(message, code=1):
    print(message, file=sys.stderr)
    sys.exit(code)


def on_phone(remote):
    if not remote.startswith("/data/local/tmp/"):
        fail(f"adb: error: failed to copy to {{remote}}: Permission denied")
    return root / remote.lstrip("/")


if args[:1] == ["-s"]:
    if args[1] not in serials:
        fail(f"adb: device '{{args[1]}}' not found")
    args = args[2:]
elif len(serials) > 1:
    fail("adb: more than one device/emulator")
if args[0] == "push":
    local, remote = args[1:]
    if not Path(local).is_file():
        fail(f"adb: error: cannot stat '{{local}}': No such file or directory")
    target = on_phone(remote)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(local, target)
    print(f"{{local}}: 1 file pushed")
    sys.exit(0)
if args[0] != "shell" or len(args) != 2:
    fail(f"fake adb: unexpected call {{args}}")
command = args[1]
check = re.fullmatch(r"if \[ -x (\S+) \]; then md5sum (\S+); else echo (\w+); fi", command)
if command.startswith("getprop "):
    print(PROPS.get(command.split()[1], ""))
elif command == "cat /sys/devices/system/cpu/present":
    print(cores)
elif command == "cat /sys/devices/system/cpu/online":
    print(online_text)
elif check:
    binary = on_phone(check.group(1))
    if binary.is_file() and os.access(binary, os.X_OK) and check.group(1) == check.group(2):
        print(hashlib.md5(binary.read_bytes()).hexdigest() + "  " + check.group(1))
    else:
        print(check.group(3))
elif command.startswith("chmod 755 "):
    target = on_phone(command.split()[2])
    if not target.is_file():
        fail(f"chmod: {{command.split()[2]}}: No such file or directory")
    target.chmod(0o755)
elif command.startswith("taskset "):
    words = shlex.split(command)
    mask, binary, flags = int(words[1], 16), words[2], words[3:]
    pinned = {{c for c in range(mask.bit_length()) if mask >> c & 1}}
    if not pinned or not pinned <= online:
        fail(f"taskset: failed to set pid's affinity: Invalid argument (mask {{words[1]}})")
    if not os.access(on_phone(binary), os.X_OK):
        fail(f"/system/bin/sh: {{binary}}: inaccessible or not found", 127)
    values = {{}}
    for flag in flags:
        name, _, value = flag.lstrip("-").partition("=")
        if not flag.startswith("--") or name not in FLAGS:
            fail(f"benchmark_model: Unconsumed cmdline flags: {{flag}}")
        values[name] = value
    if set(values) != FLAGS:
        fail(f"fake benchmark_model: missing flags {{sorted(FLAGS - set(values))}}")
    if values["use_xnnpack"] not in ("true", "false") or int(values["num_threads"]) < 1:
        fail(f"benchmark_model: bad flag values {{values}}")
    graph = on_phone(values["graph"])
    if not graph.is_file() or graph.read_bytes()[4:8] != b"TFL3":
        fail(f"ERROR: Could not build model from {{values['graph']}}")
    if os.environ.get("FAKE_BENCH_OUTPUT"):
        print(open(os.environ["FAKE_BENCH_OUTPUT"]).read())
        sys.exit(0)
    us = 100 + graph.stat().st_size / 100
    runs = int(values["num_runs"])
    print(f"INFO: Graph: [{{values['graph']}}]\nINFO: Num threads: [{{values['num_threads']}}]")
    print(f"INFO: count=3 first={{us * 2:.0f}} curr={{us:.0f}} min={{us:.0f}} max={{us * 2:.0f}} avg={{us * 1.3:.1f}} std=9")
    print(f"INFO: count={{runs}} first={{us:.0f}} curr={{us:.0f}} min={{us - 5:.0f}} max={{us + 50:.0f}} "
          f"avg={{us + 2:.1f}} std=4 p5={{us - 3:.1f}} median={{us:.1f}} p95={{us + 20:.1f}}")
    print(f"INFO: Inference timings in us: Init: 900, First inference: {{us * 2:.0f}}, Inference (avg): {{us + 2:.1f}}")
else:
    fail(f"/system/bin/sh: {{command.split()[0]}}: inaccessible or not found", 127)
'''


def fake_median_ms(size_bytes: int) -> float:
    """The median the fake phone reports for a pushed file of `size_bytes`."""
    return (100 + size_bytes / 100) * 1e-3


def install_fake_adb(root: Path, monkeypatch, serials: str = "PHONE1", cores: str = "0-7", online: str = "") -> Path:
    """Put the fake `adb` first on PATH; its phone's files live under `root/phone`; `online` lists the
    cores switched on (default all of `cores`). Returns `root`."""
    bindir = root / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    adb = bindir / "adb"
    adb.write_text(FAKE_ADB.format(python=sys.executable, props=repr(PROPS), flags=repr(BENCH_FLAGS)))
    adb.chmod(adb.stat().st_mode | stat.S_IEXEC)
    (root / "phone").mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_ADB_LOG", str(root / "calls.log"))
    monkeypatch.setenv("FAKE_PHONE", str(root / "phone"))
    monkeypatch.setenv("FAKE_ADB_SERIALS", serials)
    monkeypatch.setenv("FAKE_CORES", cores)
    monkeypatch.setenv("FAKE_ONLINE", online)
    monkeypatch.delenv("FAKE_BENCH_OUTPUT", raising=False)
    return root


def host_binary(root: Path) -> Path:
    """A stand-in `benchmark_model` on this host, to pass as --benchmark-binary."""
    path = root / "benchmark_model"
    path.write_bytes(b"\x7fELF fake benchmark_model for arm64")
    return path


def preinstall_binary(root: Path) -> None:
    """Put an executable benchmark_model on the fake phone, as a user who pushed it earlier would."""
    target = root / "phone" / REMOTE_BINARY.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"\x7fELF fake benchmark_model for arm64")
    target.chmod(0o755)


def calls(root: Path) -> list[list[str]]:
    """Every adb call so far, as argument lists."""
    log = root / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def bench_calls(root: Path) -> list[str]:
    """The shell commands of the benchmark runs (taskset ...) so far."""
    return [c[-1] for c in calls(root) if c[-2:-1] == ["shell"] and c[-1].startswith("taskset ")]
