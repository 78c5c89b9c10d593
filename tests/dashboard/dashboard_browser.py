"""Headless Debian chromium driven over the DevTools protocol (a websocket, via aiohttp, which
Ray's dashboard already depends on): navigate, read the rendered text, run a script in the page,
take a PNG screenshot. Used by the dashboard screenshot test."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


class BrowserError(RuntimeError):
    """Chromium did not start, or a DevTools command failed or timed out."""


class HeadlessChromium:
    """`with HeadlessChromium('/usr/bin/chromium', profile_dir) as b:` one page, driven synchronously."""

    def __init__(self, binary: str, profile: Path, width: int = 1400, height: int = 1000) -> None:
        self.binary, self.profile = binary, Path(profile)
        self.width, self.height = width, height
        self.proc: subprocess.Popen[bytes] | None = None
        self.loop = asyncio.new_event_loop()
        self._next_id = 0

    def __enter__(self) -> HeadlessChromium:
        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-address=127.0.0.1",
             "--remote-debugging-port=0", f"--window-size={self.width},{self.height}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._stop()
                raise BrowserError(f"{self.binary} did not open its DevTools port (exit code {self.proc.returncode})")
            time.sleep(0.2)
        port = int(port_file.read_text().split()[0])
        self.loop.run_until_complete(self._connect(port))
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height, deviceScaleFactor=1,
                  mobile=False)
        return self

    async def _connect(self, port: int) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as resp:
            targets = await resp.json()
        page = next(t for t in targets if t["type"] == "page")
        self.ws = await self.session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)

    async def _call(self, method: str, params: dict[str, Any], timeout: float) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            msg = json.loads((await asyncio.wait_for(self.ws.receive(), timeout)).data)
            if msg.get("id") == ident:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error']}")
                return msg["result"]

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        return self.loop.run_until_complete(self._call(method, params, timeout))

    def navigate(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of `expression` in the page (promises awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"script failed in the page: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def insert_text(self, text: str) -> None:
        """Type `text` into the focused element, as a user (or a paste) would."""
        self.call("Input.insertText", text=text)

    def text(self) -> str:
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def wait_for_text(self, needles: tuple[str, ...], absent: tuple[str, ...] = (), timeout: float = 60.0) -> str:
        """The page's rendered text once it contains every needle and none of `absent`; BrowserError
        with the last text otherwise."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            try:
                text = self.text()
            except BrowserError:  # the page is reloading (e.g. after signing in): read it again
                text = ""
            if all(n in text for n in needles) and not any(a in text for a in absent):
                return text
            time.sleep(0.5)
        raise BrowserError(f"the page never showed {needles} without {absent} in {timeout:.0f} s; it showed:\n"
                           f"{text[:3000]}")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def _stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if hasattr(self, "ws"):
            self.loop.run_until_complete(self.ws.close())
        if hasattr(self, "session"):
            self.loop.run_until_complete(self.session.close())
        self.loop.close()
        self._stop()
