"""Which courts may confirm an agreement (CPL 2023 Art.205, SPC-Interp Art.352).

1. A court that invited or delegated the mediation (先行调解, 委派): that court, and only it
   (Art.205 item 1; SPC-2011 Art.2).
2. Otherwise a basic court, or its people's tribunal (SPC-2011 Art.1), where a party is
   domiciled, where the subject matter lies, or where the mediation organization sits; when
   the dispute belongs to an intermediate court, the intermediate court of such a place
   instead (Art.205 item 2).
3. Several competent courts: the applicants choose; if they applied to more than one, the
   court that dockets (立案) first has jurisdiction and the others close (SPC-Interp Art.352).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from services.confirmation.domain.model import Agreement, Court, CourtLevel, DisputeLevel


class Connection(StrEnum):
    DELEGATING_COURT = "delegating_court"
    PARTY_DOMICILE = "party_domicile"
    SUBJECT_MATTER = "subject_matter"
    ORGANIZATION_SEAT = "organization_seat"


@dataclass(frozen=True)
class Competence:
    court_id: str
    connections: tuple[tuple[Connection, str], ...]  # (link, what lies there)
    reason: str  # why the court is, or is not, competent

    @property
    def competent(self) -> bool:
        return bool(self.connections)


def _places(agreement: Agreement) -> list[tuple[Connection, str, str]]:
    places = [(Connection.PARTY_DOMICILE, p.domicile_region, f"domicile of {p.name}") for p in agreement.parties]
    if agreement.subject_matter_region:
        places.append((Connection.SUBJECT_MATTER, agreement.subject_matter_region, "the subject matter"))
    org = agreement.organization
    places.append((Connection.ORGANIZATION_SEAT, org.region_code, f"seat of {org.name}"))
    return places


def assess_jurisdiction(court: Court, agreement: Agreement) -> Competence:
    if agreement.delegating_court_id:
        if court.court_id == agreement.delegating_court_id:
            return Competence(court.court_id, ((Connection.DELEGATING_COURT, court.name),),
                              f"{court.name} delegated the mediation (CPL 2023 Art.205 item 1)")
        return Competence(court.court_id, (), f"the mediation was delegated by court {agreement.delegating_court_id}; "
                          f"only that court may confirm it, not {court.name} (CPL 2023 Art.205 item 1)")
    wanted = CourtLevel.INTERMEDIATE if agreement.level is DisputeLevel.INTERMEDIATE else CourtLevel.BASIC
    if court.level is not wanted:
        return Competence(court.court_id, (), f"the dispute belongs to a {wanted.value} court; {court.name} is a "
                          f"{court.level.value} court (CPL 2023 Art.205 item 2)")
    links = tuple((link, what) for link, region, what in _places(agreement) if court.covers(region))
    if not links:
        return Competence(court.court_id, (), f"no party is domiciled, no subject matter lies and the mediation "
                          f"organization does not sit in the area of {court.name} (CPL 2023 Art.205 item 2)")
    return Competence(court.court_id, links, f"{court.name} serves the {', '.join(w for _, w in links)} "
                      "(CPL 2023 Art.205 item 2)")


def competent_courts(agreement: Agreement, courts: Iterable[Court]) -> tuple[Court, ...]:
    """The courts the applicants may choose among, in the order given."""
    return tuple(c for c in courts if assess_jurisdiction(c, agreement).competent)
