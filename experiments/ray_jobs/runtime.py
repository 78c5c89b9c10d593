"""Ray bootstrap: start a local Ray or join a cluster, say where the dashboard is, shut down cleanly.

With `ray.address: null` a local Ray is started with the configured CPUs and its dashboard bound
to `ray.dashboard_host` (127.0.0.1 by default, never all interfaces unless asked). Ray 2.60 turns
token authentication on for a new local cluster: `ray.init` creates a random token in
`~/.ray/auth_token` (or uses `$RAY_AUTH_TOKEN` / the file named by `$RAY_AUTH_TOKEN_PATH`); the
dashboard asks for it once in the browser. `ray get-auth-token` prints it. With `address: auto`
or `host:port` / `ray://host:port` the driver joins that cluster instead (the token of that
cluster must be available the same way).

`RayRuntime` is a context manager: leaving it, by normal exit, exception or Ctrl-C, calls
`ray.shutdown()` for a cluster this process started or joined.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from experiments.config.schema import RayConfig

TOKEN_FILE = Path.home() / ".ray" / "auth_token"


def token_auth_enabled() -> bool:
    """Whether this process talks to Ray with token authentication (Ray sets RAY_AUTH_MODE=token)."""
    return os.environ.get("RAY_AUTH_MODE", "").lower() == "token"


def token_hint() -> str:
    """How a user gets the dashboard token, without printing the secret itself."""
    if "RAY_AUTH_TOKEN" in os.environ:
        where = "the environment variable RAY_AUTH_TOKEN"
    elif "RAY_AUTH_TOKEN_PATH" in os.environ:
        where = f"the file {os.environ['RAY_AUTH_TOKEN_PATH']} (RAY_AUTH_TOKEN_PATH)"
    else:
        where = f"the file {TOKEN_FILE}"
    return (f"token authentication is on: the token is in {where}; print it with `ray get-auth-token` and "
            f"paste it when the dashboard asks")


class RayRuntime:
    """`with RayRuntime(cfg.ray) as rt:` starts or joins Ray; `rt.dashboard_url` is set when known."""

    def __init__(self, cfg: RayConfig, log: Callable[[str], None] = print, **init_kwargs: Any) -> None:
        self.cfg = cfg
        self.log = log
        self.init_kwargs = init_kwargs
        self.dashboard_url: str | None = None
        self.address: str | None = None

    def __enter__(self) -> RayRuntime:
        import ray

        if ray.is_initialized():
            raise RuntimeError("Ray is already initialised in this process; call ray.shutdown() first")
        if self.cfg.address is None:
            context = ray.init(
                num_cpus=self.cfg.num_cpus,
                include_dashboard=self.cfg.include_dashboard,
                dashboard_host=self.cfg.dashboard_host,
                dashboard_port=self.cfg.dashboard_port,
                **self.init_kwargs,
            )
            where = f"local Ray with {int(ray.cluster_resources().get('CPU', 0))} CPUs"
        else:
            context = ray.init(address=self.cfg.address, **self.init_kwargs)
            where = f"Ray cluster at {self.cfg.address} ({len(ray.nodes())} nodes)"
        self.address = context.address_info.get("address")
        self.dashboard_url = f"http://{context.dashboard_url}" if context.dashboard_url else None
        self.log(f"ray: {where}")
        if self.dashboard_url:
            self.log(f"ray: dashboard at {self.dashboard_url}")
            if token_auth_enabled():
                self.log(f"ray: {token_hint()}")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        import ray

        if exc_type is KeyboardInterrupt:
            self.log("ray: interrupted, shutting down")
        ray.shutdown()
