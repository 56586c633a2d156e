"""The calling systems: who may send referrals in, with which secret, for which
organizations and regions. From a TOML file named by LIANDIAO_EXTERNAL_SYSTEMS_FILE
(a Kubernetes Secret in the chart), checked whole at start-up; a bad entry stops the
adapter with a message naming it.

    [[system]]
    id = "police-1505"                   # what the system sends as X-Liandiao-System
    kind = "police"                      # police (referrals) or court (delegations, commissions)
    name = "通辽市公安局警务平台"
    secret = "<base64, at least 32 bytes>"
    organizations = ["<station org id>", ...]   # the stations / courts it may speak for
    regions = ["1505"]                   # GB/T 2260 prefixes it registers disputes in

A system that stands for one station lists one organization; a provincial police
platform lists every station it carries. A body naming another organization, or a
region outside ``regions``, is refused (403): the referring organization is what
grants a station or a court sight of the dispute (intake's access policy), so it must
be one the authenticated system really speaks for.

Development secrets are derived from the system id (``development_secret``) so that the
fake systems, the demo and the tests agree on them without a file of secrets; production
refuses them, and any secret shorter than 32 bytes anywhere."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from liandiao.config import SettingsError

FILE_VARIABLE = "LIANDIAO_EXTERNAL_SYSTEMS_FILE"
MIN_SECRET_BYTES = 32
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_REGION = re.compile(r"^[0-9]{2,12}$")


class Kind(StrEnum):
    POLICE = "police"   # a police case system: referrals (PML Art.18)
    COURT = "court"     # a court case system: delegations (委派) and commissions (委托)


@dataclass(frozen=True)
class System:
    system_id: str
    kind: Kind
    name: str
    secret: bytes
    organizations: frozenset[str]
    regions: tuple[str, ...]

    def __repr__(self) -> str:   # never the secret
        return f"System({self.system_id!r}, {self.kind}, {len(self.organizations)} organizations)"

    def speaks_for(self, organization_id: str) -> bool:
        return organization_id in self.organizations

    def covers(self, region_code: str) -> bool:
        return any(region_code.startswith(prefix) for prefix in self.regions)


def development_secret(system_id: str) -> bytes:
    """The secret a development system has: known to the fake systems, refused in production."""
    return hashlib.sha256(b"liandiao-development-external-system:" + system_id.encode()).digest()


def development_entry(system_id: str, kind: str, organizations: list[str], regions: list[str],
                      name: str = "") -> str:
    """One [[system]] entry with the development secret (devtools and tests write files with it)."""
    secret = base64.b64encode(development_secret(system_id)).decode()
    orgs = ", ".join(f'"{o}"' for o in organizations)
    regs = ", ".join(f'"{r}"' for r in regions)
    return (f'[[system]]\nid = "{system_id}"\nkind = "{kind}"\nname = "{name or system_id}"\nsecret = "{secret}"\n'
            f"organizations = [{orgs}]\nregions = [{regs}]\n")


def parse(doc: Mapping[str, object], *, production: bool) -> dict[str, System]:
    entries = doc.get("system", [])
    if not isinstance(entries, list) or not entries:
        raise SettingsError(f"{FILE_VARIABLE}: no [[system]] entries")
    systems: dict[str, System] = {}
    for i, raw in enumerate(entries):
        where = f"{FILE_VARIABLE}: system[{i}]"
        if not isinstance(raw, dict):
            raise SettingsError(f"{where}: not a table")
        unknown = set(raw) - {"id", "kind", "name", "secret", "organizations", "regions"}
        if unknown:
            raise SettingsError(f"{where}: unknown keys {sorted(unknown)}")
        system_id = raw.get("id")
        if not isinstance(system_id, str) or not _ID.match(system_id):
            raise SettingsError(f"{where}: id must be lower-case letters, digits and '-' (at most 63)")
        where = f"{FILE_VARIABLE}: system {system_id!r}"
        if system_id in systems:
            raise SettingsError(f"{where}: listed twice")
        try:
            kind = Kind(raw.get("kind"))
        except ValueError:
            raise SettingsError(f"{where}: kind must be police or court") from None
        try:
            secret = base64.b64decode(str(raw.get("secret", "")), validate=True)
        except binascii.Error:
            raise SettingsError(f"{where}: secret is not base64") from None
        if len(secret) < MIN_SECRET_BYTES:
            raise SettingsError(f"{where}: secret must be at least {MIN_SECRET_BYTES} random bytes")
        if production and secret == development_secret(system_id):
            raise SettingsError(f"{where}: a development secret is refused in production")
        orgs, regions = raw.get("organizations"), raw.get("regions")
        if not isinstance(orgs, list) or not orgs or not all(isinstance(o, str) and 0 < len(o) <= 64 for o in orgs):
            raise SettingsError(f"{where}: organizations must list the organization ids it speaks for")
        if not isinstance(regions, list) or not regions or not all(isinstance(r, str) and _REGION.match(r)
                                                                   for r in regions):
            raise SettingsError(f"{where}: regions must list GB/T 2260 prefixes (2-12 digits)")
        systems[system_id] = System(system_id, kind, str(raw.get("name", system_id)), secret, frozenset(orgs),
                                    tuple(regions))
    return systems


def load(path: str, *, production: bool) -> dict[str, System]:
    if not path:
        raise SettingsError(f"{FILE_VARIABLE} is not set: the file listing the calling systems")
    try:
        doc = tomllib.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{FILE_VARIABLE}={path!r} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{FILE_VARIABLE}={path!r}: {exc}") from None
    return parse(doc, production=production)
