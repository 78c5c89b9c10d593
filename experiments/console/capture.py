"""Everything a run's process prints, kept in the run directory and off the terminal unless asked.

`OutputCapture` points this process's file descriptors 1 and 2 at a pipe, so Python's `sys.stdout`
and `sys.stderr`, C++ libraries (absl / flatbuffer INFO lines of the LiteRT converter, torchao's
load failures, glog), child processes and the worker lines Ray forwards to the driver all land
there. A thread copies the pipe into the attempt's log file (`logs/<stamp>-<command>.log`; what
arrives before the run directory exists is held and written when the file is attached) and, when
`verbose`, to the terminal as well. The console's own lines (`say`) go to the terminal and the log.
Nothing is silenced at its source (no log-level variables), so the log holds everything a verbose
run shows.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType
from typing import IO

from tqdm import tqdm

READ_CHUNK = 65536
POLL_S = 0.1


class OutputCapture:
    """`with OutputCapture(verbose) as cap:` all output of the process goes through `cap`; `attach`
    names the log file once it can exist; `say` writes a line of the console's own."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self._lock = threading.Lock()
        self._spool: list[bytes] = []
        self._log: IO[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved: tuple[int, int] | None = None
        self.terminal: IO[str] = sys.stdout
        self.terminal_err: IO[str] = sys.stderr
        self.log_path: Path | None = None

    # ---- start and stop ------------------------------------------------------------------------
    def __enter__(self) -> OutputCapture:
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = (os.dup(1), os.dup(2))
        # the terminal, as the process had it: line-buffered text on a copy of fd 1
        self.terminal = os.fdopen(os.dup(self._saved[0]), "w", buffering=1, encoding="utf-8", errors="replace")
        self.terminal_err = os.fdopen(os.dup(self._saved[1]), "w", buffering=1, encoding="utf-8", errors="replace")
        read, write = os.pipe()
        os.dup2(write, 1)
        os.dup2(write, 2)
        os.close(write)
        self._thread = threading.Thread(target=self._pump, args=(read,), name="hwnas-output-capture", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        assert self._saved is not None and self._thread is not None
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in self._saved:
            os.close(fd)
        self._stop.set()
        self._thread.join()
        failed = exc is not None and not isinstance(exc, (KeyboardInterrupt, SystemExit))
        if failed:
            self._keep("".join(traceback.format_exception(exc_type, exc, tb)).encode())
        with self._lock:
            if self._log is not None:
                self._log.close()
            elif failed and not self.verbose:  # stopped before the run directory existed: show what it printed
                sys.stderr.write(b"".join(self._spool[:-1]).decode("utf-8", errors="replace"))
        self.terminal.close()
        self.terminal_err.close()
        self.terminal, self.terminal_err = sys.stdout, sys.stderr

    def _pump(self, fd: int) -> None:
        """Copy the pipe until stopped; after the stop, drain what is left without waiting for EOF
        (a child process may still hold the pipe open)."""
        try:
            while True:
                ready, _, _ = select.select([fd], [], [], POLL_S)
                if ready:
                    chunk = os.read(fd, READ_CHUNK)
                    if not chunk:
                        return
                    self._passed(chunk)
                elif self._stop.is_set():
                    return
        finally:
            os.close(fd)

    # ---- where text goes -----------------------------------------------------------------------
    def _passed(self, chunk: bytes) -> None:
        """Output of anything but the console: the log always, the terminal with `verbose`."""
        self._keep(chunk)
        if self.verbose:
            with tqdm.external_write_mode(file=self.terminal):
                self.terminal.write(chunk.decode("utf-8", errors="replace"))
                self.terminal.flush()

    def _keep(self, data: bytes) -> None:
        with self._lock:
            if self._log is None:
                self._spool.append(data)
            else:
                self._log.write(data)
                self._log.flush()

    def keep(self, line: str) -> None:
        """A line for the log only."""
        self._keep((line + "\n").encode())

    def say(self, line: str, error: bool = False) -> None:
        """A line of the console's own: on the terminal (above any progress bar; stderr for an error) and
        in the log."""
        self.keep(line)
        stream = self.terminal_err if error else self.terminal
        tqdm.write(line, file=stream)
        stream.flush()

    def attach(self, path: Path) -> None:
        """Write the log to `path` (appending) from now on, starting with what was held so far."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self._log is not None:
                self._log.close()
            self._log = path.open("ab")
            self._log.write(b"".join(self._spool))
            self._log.flush()
            self._spool.clear()
        self.log_path = path

    def held(self) -> str:
        """What arrived before a log file was attached (for a run that stopped before it had one)."""
        with self._lock:
            return b"".join(self._spool).decode("utf-8", errors="replace")
