"""Who reads which statistics (issue 11 "Access"), in one place.

- Supervisors of the justice bureau and the coordination group (Role.SUPERVISOR) read
  the board, the figures and any office's ledger for the regions of their scope
  (a prefix: "1505" a prefecture, "150502" a county).
- Clerks and liaison officers read their own region's board and figures; a clerk (or a
  police station's or court's user) exports the ledger of their own organization only.
- Operators of the data centre read everything of their scope (the province).
- Imports come from the importing systems' own service identities (police-system,
  court-system, petition-system), each for its own kind of count only, or from an
  operator entering a figure sent on paper. A region outside every scope is told NOT_FOUND
  like a region that does not exist: nobody learns of regions they may not read."""

from __future__ import annotations

from liandiao.access import Facts, Rule, check_see, grant
from liandiao.auth import Claims, Role
from liandiao.errors import PermissionDenied

BOARD_READERS = frozenset({Role.SUPERVISOR, Role.CLERK, Role.LIAISON, Role.OPERATOR})
# The board and the figures of a region, in the terms of the one access policy (liandiao.access):
# by region scope alone, the operator's too (an operator of another province reads none).
BOARD = Rule(see=tuple(grant(role) for role in sorted(BOARD_READERS)))
LEDGER_READERS = frozenset({Role.SUPERVISOR, Role.CLERK, Role.POLICE, Role.COURT, Role.OPERATOR})
# Which service identity sends which count (its token's subject -> source system).
IMPORTERS = {"police-system": "police", "court-system": "court", "petition-system": "petition"}
IMPORT_CALLERS = frozenset({Role.OPERATOR})


def check_region(caller: Claims, region_code: str) -> None:
    """The caller may read figures of ``region_code`` (natural length); NotFound otherwise."""
    check_see(BOARD, caller, Facts(region_code), f"region {region_code}")


def ledger_scope(caller: Claims, organization_id: str) -> tuple[str, ...]:
    """The region prefixes whose disputes the caller's ledger export may list."""
    if caller.role in (Role.OPERATOR, Role.SUPERVISOR):
        return caller.region_scope
    if caller.role in LEDGER_READERS and caller.organization_id == organization_id:
        return caller.region_scope
    raise PermissionDenied(f"role {caller.role} exports the ledger of its own organization only")


def check_import(caller: Claims, source_system: str) -> None:
    if caller.role is Role.OPERATOR:
        return
    if caller.role is Role.SERVICE and IMPORTERS.get(caller.subject) == source_system:
        return
    raise PermissionDenied(f"{caller.subject} may not import {source_system} figures")
