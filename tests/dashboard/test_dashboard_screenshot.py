"""The Ray dashboard shows a running Tune job, checked in a real browser.

A local Ray (dashboard on 127.0.0.1, Ray 2.60's token authentication on) runs a Tune driver in a
subprocess whose one trial (trainable `hwnas_probe_trial`) sleeps. Headless Debian chromium opens
the dashboard, meets the "Authentication Token Required" dialog, types the token (`ray
get-auth-token`) and presses SUBMIT, as a user would: the dashboard then stores it in its HttpOnly
`ray-authentication-token` cookie. The test reads the rendered Jobs and Actors pages, checks that
the driver's job is RUNNING and the trial's actor is ALIVE, and saves a screenshot of each.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dashboard_browser import HeadlessChromium
from PIL import Image

from experiments.config.schema import RayConfig
from experiments.ray_jobs.runtime import RayRuntime, token_auth_enabled

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REQUIRED = os.environ.get("HWNAS_REQUIRE_CHROMIUM") == "1"  # set by .ci/run: there a missing browser fails
JOB_SCRIPT = Path(__file__).with_name("dashboard_tune_job.py")
SIGN_IN = "Authentication Token Required"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def line_after(text: str, marker: str) -> str:
    """The first non-blank line after the line holding `marker` (the next cell of that table row)."""
    lines = text.split(marker, 1)[1].splitlines()[1:]
    return next((line.strip() for line in lines if line.strip()), "")


def wait_for_trial_actor(job: subprocess.Popen[bytes], log: Path, timeout: float = 120.0) -> None:
    from ray.util.state import list_actors

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if job.poll() is not None:
            raise RuntimeError(f"the Tune driver exited with {job.returncode}:\n{log.read_text()[-3000:]}")
        alive = list_actors(filters=[("state", "=", "ALIVE"), ("class_name", "=", "ImplicitFunc")], detail=True)
        if any(a.repr_name == "hwnas_probe_trial" for a in alive):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the Tune trial's actor did not start in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def auth_token() -> str:
    ray_cli = Path(sys.executable).with_name("ray")
    done = subprocess.run([str(ray_cli), "get-auth-token"], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().splitlines()[-1]


def assert_screenshot(path: Path) -> None:
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == (1400, 1000)
        colours = img.convert("RGB").resize((140, 100)).getcolors(maxcolors=100_000)
        assert colours is not None and len(colours) > 20  # a rendered page, not a blank one


@pytest.mark.ray
@pytest.mark.skipif(CHROMIUM is None and not REQUIRED, reason="Debian's chromium is not installed: run `make "
                    "browser` (apt-get install -y chromium)")
def test_dashboard_shows_the_running_tune_job(tmp_path: Path) -> None:
    assert CHROMIUM is not None, "HWNAS_REQUIRE_CHROMIUM=1 but no chromium on PATH: run `make browser`"
    stop, log = tmp_path / "stop", tmp_path / "tune_job.log"
    with RayRuntime(RayConfig(num_cpus=2, dashboard_port=free_port()), log=lambda _: None) as rt:
        assert rt.dashboard_url is not None and rt.dashboard_url.startswith("http://127.0.0.1:")
        with open(log, "wb") as out:
            job = subprocess.Popen([sys.executable, str(JOB_SCRIPT), str(rt.address), str(tmp_path / "tune"),
                                    str(stop)], stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_trial_actor(job, log)
            with HeadlessChromium(CHROMIUM, tmp_path / "profile") as browser:
                browser.navigate(f"{rt.dashboard_url}/#/jobs")
                if token_auth_enabled():
                    before = browser.wait_for_text((SIGN_IN, "ray get-auth-token"))
                    assert JOB_SCRIPT.name not in before  # no data without the token
                    browser.screenshot(tmp_path / "dashboard_sign_in.png")
                    browser.evaluate("document.querySelector('[role=dialog] input').focus()")
                    browser.insert_text(auth_token())
                    browser.evaluate("[...document.querySelectorAll('[role=dialog] button')]"
                                     ".find(b => b.innerText.trim() === 'SUBMIT').click()")
                jobs = browser.wait_for_text((JOB_SCRIPT.name, "RUNNING"), absent=(SIGN_IN,))
                assert line_after(jobs, JOB_SCRIPT.name) == "RUNNING"
                browser.screenshot(tmp_path / "dashboard_jobs.png")
                browser.navigate(f"{rt.dashboard_url}/#/actors")
                actors = browser.wait_for_text(("hwnas_probe_trial", "ImplicitFunc"), absent=(SIGN_IN,))
                assert line_after(actors, "hwnas_probe_trial") == "ALIVE"
                browser.screenshot(tmp_path / "dashboard_actors.png")
        finally:
            stop.write_text("done")
            try:
                job.wait(timeout=60)
            except subprocess.TimeoutExpired:
                job.kill()
                job.wait()
    assert job.returncode == 0
    for name in ("dashboard_jobs.png", "dashboard_actors.png"):
        assert_screenshot(tmp_path / name)
