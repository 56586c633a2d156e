"""Reference data every service shares: the dispute-type dictionary.

Configurable, not a constant (DOMAIN §2: "configurable dictionary, seed with"):
the shipped list can be extended by an operator file named in
LIANDIAO_DISPUTE_TYPES_FILE, in the same JSON format."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_SHIPPED = Path(__file__).parent / "dispute_types.json"
ENV = "LIANDIAO_DISPUTE_TYPES_FILE"


@dataclass(frozen=True)
class DisputeType:
    code: str
    zh: str
    en: str
    roster: str = ""   # specialised roster (SPC-Online Art.28), if any


def _read(path: Path) -> list[DisputeType]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [DisputeType(t["code"], t["zh"], t["en"], t.get("roster", "")) for t in doc["types"]]


@cache
def dispute_types(extra_file: str | None = None) -> dict[str, DisputeType]:
    types = {t.code: t for t in _read(_SHIPPED)}
    extra = extra_file if extra_file is not None else os.environ.get(ENV, "")
    if extra:
        for t in _read(Path(extra)):
            types.setdefault(t.code, t)
    return types
