"""Court rosters (名册) of invited organizations and mediators (SPC-Online Art.5;
SPC-Invited Art.10, 28). Pure: no I/O.

A court publishes, for each entry: basic information, dispute scope, expertise,
whether fees are charged and the inviting court (SPC-Online Art.5). Lower courts
may use a higher court's roster: a roster read for a tribunal includes the
entries of its basic court (and of any court above that)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from liandiao.errors import FieldViolation, InvalidInput, RuleViolation, shown
from services.personnel.domain.model import OrgKind, Role, RosterStatus
from services.personnel.limits import FEE_STANDARD

COURT_KINDS = frozenset({OrgKind.BASIC_COURT, OrgKind.PEOPLES_TRIBUNAL})
# Invited organizations (特邀调解组织): mediation committees, law firms and legal-service offices.
INVITED_ORG_KINDS = frozenset({OrgKind.MEDIATION_COMMITTEE, OrgKind.LAW_FIRM, OrgKind.LEGAL_SERVICE_OFFICE})
# PML Art.4: people's mediation is free of charge. Lawyers' mediation (and the
# legal-service offices', their village-level counterpart) may charge a low fee.
FEE_ALLOWED = frozenset({OrgKind.LAW_FIRM, OrgKind.LEGAL_SERVICE_OFFICE})
CHAIN_LIMIT = 5   # tribunal -> basic court -> ... far more than the court hierarchy has


@dataclass(frozen=True)
class Member:
    """The person or organization to be listed, as the rules see it.

    For a person, ``org_kind`` is the kind of their organization."""
    is_person: bool
    org_kind: OrgKind
    roles: tuple[Role, ...] = ()
    roster_status: RosterStatus = RosterStatus.ACTIVE


@dataclass(frozen=True)
class Listing:
    dispute_scope: tuple[str, ...]
    fee_charging: bool
    fee_standard: str


def check_listing(court_kind: OrgKind, member: Member, listing: Listing, known_types: Collection[str]) -> None:
    """Raises InvalidInput for a bad request, RuleViolation when a rule forbids the entry."""
    bad: list[FieldViolation] = []
    if not listing.dispute_scope:
        bad.append(FieldViolation("dispute_scope", "at least one dispute type: the scope is published "
                                  "(SPC-Online Art.5)"))
    for i, t in enumerate(listing.dispute_scope):
        if t not in known_types:
            bad.append(FieldViolation(f"dispute_scope[{i}]", f"unknown dispute type {shown(t)}"))
    if len(set(listing.dispute_scope)) != len(listing.dispute_scope):
        bad.append(FieldViolation("dispute_scope", "a dispute type is named twice"))
    standard = listing.fee_standard.strip()
    if listing.fee_charging and not standard:
        bad.append(FieldViolation("fee_standard", "state the fee standard (收费标准) to publish with the roster"))
    if not listing.fee_charging and standard:
        bad.append(FieldViolation("fee_standard", "only an entry that charges fees has a fee standard"))
    if len(standard) > FEE_STANDARD:
        bad.append(FieldViolation("fee_standard", f"at most {FEE_STANDARD} characters"))
    if bad:
        raise InvalidInput(bad)
    if court_kind not in COURT_KINDS:
        raise RuleViolation("SPC-Online Art.5", f"a roster is kept by a court (basic court or people's tribunal), "
                            f"not a {court_kind.value}")
    if member.is_person:
        if Role.MEDIATOR not in member.roles:
            raise RuleViolation("SPC-Invited Art.10", "only a mediator can be an invited mediator on a roster")
        if member.roster_status is RosterStatus.REMOVED:
            raise RuleViolation("SPC-Invited Art.28", "the person was removed from the roster (除名)")
    elif member.org_kind not in INVITED_ORG_KINDS:
        raise RuleViolation("SPC-Invited Art.10", f"a {member.org_kind.value} cannot be an invited mediation "
                            "organization (mediation committee, law firm or legal-service office)")
    if listing.fee_charging and member.org_kind not in FEE_ALLOWED:
        raise RuleViolation("PML Art.4", "people's mediation is free of charge; only lawyers' and "
                            "legal-service workers' mediation may charge a fee")


def court_chain(court_id: str, orgs: Mapping[str, tuple[OrgKind, str | None]]) -> list[str]:
    """The court and the courts above it whose rosters it may use, nearest first.

    ``orgs`` maps organization id -> (kind, parent id) for the court and its ancestors;
    the walk stops at the first ancestor that is not a court."""
    chain = [court_id]
    while len(chain) < CHAIN_LIMIT:
        above = orgs[chain[-1]][1]
        if above is None or above in chain or above not in orgs or orgs[above][0] not in COURT_KINDS:
            break
        chain.append(above)
    return chain
