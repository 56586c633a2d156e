"""`python -m services.console`: the console on LIANDIAO_CONSOLE_HOST:PORT (uvicorn)."""

from __future__ import annotations

import logging
import sys

import uvicorn

from liandiao.config import SettingsError
from services.console import config
from services.console.app import create_app


def main() -> None:
    try:
        settings = config.load()
    except SettingsError as exc:
        print(f"console: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s console %(levelname)s %(message)s")
    # Access logs show paths only: dispute and case ids, never a query string (it may carry a name).
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info",
                access_log=False, proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)


if __name__ == "__main__":
    main()
