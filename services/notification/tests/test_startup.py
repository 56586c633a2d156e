"""A wrong routing file, template or channel setting stops the service at start-up
with exit code 2 and a message naming the file and the entry (nothing is consumed
under a half-valid configuration)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from liandiao.config import SettingsError
from services.notification import config

REPO = Path(__file__).resolve().parents[3]
BAD_ROUTE = """
[[route]]
event = "routing.dispute-assigned"
audience = "party"
channels = ["pigeon"]
template = "dispute-assigned/party"
"""


def start(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'libs'}:{REPO}", "LIANDIAO_ENV": "development",
           "LIANDIAO_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none", "LIANDIAO_KAFKA_BOOTSTRAP": "127.0.0.1:1",
           **{f"LIANDIAO_{k}": v for k, v in extra.items()}}
    return subprocess.run([sys.executable, "-m", "services.notification", "migrate"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_bad_routing_file_stops_the_service_naming_the_problem(tmp_path):
    routing = tmp_path / "routing.toml"
    routing.write_text(BAD_ROUTE)
    done = start(tmp_path, NOTIFICATION_ROUTING_FILE=str(routing))
    assert done.returncode == 2, done.stderr
    assert "LIANDIAO_NOTIFICATION_ROUTING_FILE" in done.stderr and "route[0].channels" in done.stderr


@pytest.mark.parametrize(("content", "env", "named"), [
    ("[[route]\n", {}, "routing.toml"),
    (BAD_ROUTE.replace('"pigeon"', '"sms"').replace("dispute-assigned/party", "nothing/here"), {},
     "route[0].template"),
    (None, {"SMS_URL": "http://127.0.0.1:9/send"}, "LIANDIAO_SMS_API_KEY"),
    (None, {"NOTIFICATION_CONCURRENCY": "0"}, "LIANDIAO_NOTIFICATION_CONCURRENCY"),
    (None, {"WEBHOOKS_FILE": "/nonexistent.toml"}, "LIANDIAO_WEBHOOKS_FILE"),
])
def test_each_bad_setting_is_named(tmp_path, content, env, named):
    if content is not None:
        (tmp_path / "routing.toml").write_text(content)
        env = {**env, "NOTIFICATION_ROUTING_FILE": str(tmp_path / "routing.toml")}
    with pytest.raises(SettingsError, match=re.escape(named)):
        config.load(env)
