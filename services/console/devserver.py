"""The console as a local process beside the six services (the demo, the browser tests): the
services' addresses, the console's own development certificate when the services speak mutual
TLS, the demo users file, a port of its own (shifted by LIANDIAO_PORT_OFFSET like the rest)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.console.config import SERVICES

REPO = Path(__file__).resolve().parents[2]
PORT = 8060 + int(os.environ.get("LIANDIAO_PORT_OFFSET", "0"))


@dataclass
class ConsoleProcess:
    addresses: dict[str, str]
    users_file: Path
    log_file: Path
    tls: Path | None = None
    port: int = PORT
    proc: subprocess.Popen | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIANDIAO_TLS_", "LIANDIAO_CONSOLE_"))}
        env.update({"LIANDIAO_ENV": "development", "LIANDIAO_CONSOLE_PORT": str(self.port),
                    "LIANDIAO_CONSOLE_DEMO_USERS": str(self.users_file),
                    "PYTHONPATH": f"{REPO / 'libs'}{os.pathsep}{REPO}"})
        env.update({f"LIANDIAO_CONSOLE_{s.upper()}_ADDRESS": self.addresses[s] for s in SERVICES})
        if self.tls is not None:   # the console calls the services with its own client certificate
            env.update({"LIANDIAO_TLS_CERT_FILE": str(self.tls / "console.crt"),
                        "LIANDIAO_TLS_KEY_FILE": str(self.tls / "console.key"),
                        "LIANDIAO_TLS_CA_FILE": str(self.tls / "ca.crt")})
        return env

    def start(self, timeout: float = 90) -> ConsoleProcess:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_file, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "services.console"], cwd=REPO, env=self.env(),
                                     stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"console exited with {self.proc.returncode}; see {self.log_file}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()    # not left behind when it never answered
        raise TimeoutError(f"console not answering on {self.url} after {timeout}s; see {self.log_file}")

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
