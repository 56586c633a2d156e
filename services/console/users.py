"""Who a developer can sign in as with the local identity issuer: a JSON list of people
(role, person id, organization, regions) written by whoever seeded the stack (the demo, the
browser tests: ``users_for_province``), read by the console in development only."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from liandiao import auth
from liandiao.ids import lookup


@dataclass(frozen=True)
class DemoUser:
    key: str                 # stable id in the sign-in form
    label: str               # what the picker shows (no personal data: a role and an office)
    role: str                # liandiao.auth.Role value
    subject: str             # person id
    organization_id: str
    regions: tuple[str, ...]

    def claims(self) -> auth.Claims:
        return auth.Claims(subject=self.subject, organization_id=self.organization_id, role=auth.Role(self.role),
                           region_scope=self.regions)


# Without a seeded list: the province's operator, a clerk and a supervisor, enough to look around.
FALLBACK = (
    DemoUser("operator", "数据中心值班员（全区）", "operator", "dev-operator", "data-centre", ("15",)),
    DemoUser("clerk", "司法所工作人员（全区）", "clerk", "dev-clerk", "dev-office", ("15",)),
    DemoUser("supervisor", "自治区司法厅 · 督导", "supervisor", "dev-supervisor", "justice-department", ("15",)),
)


def load(path: Path | None) -> tuple[DemoUser, ...]:
    if path is None or not path.exists():
        return FALLBACK
    rows = json.loads(path.read_text(encoding="utf-8"))
    return tuple(DemoUser(**{**r, "regions": tuple(r["regions"])}) for r in rows)


def write(path: Path, people: list[DemoUser]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(u) for u in people], ensure_ascii=False, indent=1), encoding="utf-8")


async def users_for_province(personnel, meta, prov) -> list[DemoUser]:
    """A user of each role in every seeded county (liandiao.devtools.province): the judicial
    office's clerk, the police station's officer, the basic court's judge, the liaison officer of
    each office, every mediator, the operator, and a supervisor (the justice bureau, Role.SUPERVISOR)
    of each seeded prefecture, who reads its statistics board and ledgers."""
    from liandiao.personnel.v1 import personnel_pb2

    out = [DemoUser("operator", "数据中心（督导）", "operator", "dev-operator", "data-centre", ("15",))]
    for county in prov.counties:
        code, name = county.division.code, county.division.name
        out += [
            DemoUser(f"clerk-{code}", f"{name}司法所 · 工作人员", "clerk", f"clerk-{code}", county.judicial_office,
                     (code,)),
            DemoUser(f"police-{code}", f"{name}派出所 · 民警", "police", f"officer-{code}", county.police_station,
                     (code,)),
            DemoUser(f"judge-{code}", f"{name}人民法院 · 法官", "judge", f"judge-{code}", county.basic_court,
                     (code[:4],)),
        ]
        for office, person in county.liaison_officers.items():
            out.append(DemoUser(f"liaison-{person}", f"{name} · 联络员 ({office[:8]})", "liaison", person, office,
                                (code,)))
    for prefecture in sorted({c.division.code[:4] for c in prov.counties}):
        found = lookup(prefecture)
        name = found.name if found else prefecture
        # The bureau is no organization of personnel's roster: statistics reads a supervisor's
        # region scope, not an organization.
        out.append(DemoUser(f"supervisor-{prefecture}", f"{name}司法局 · 督导", "supervisor",
                            f"supervisor-{prefecture}", f"justice-bureau-{prefecture}", (prefecture,)))
    # Every mediator of the seeded prefectures, as personnel has them (their committee is the
    # organization their token names: the holder of their cases).
    for prefecture in sorted({c.division.code[:4] for c in prov.counties}):
        request = personnel_pb2.ListPeopleRequest(role=personnel_pb2.ROLE_MEDIATOR, region_prefix=prefecture,
                                                  page={"page_size": 200})
        while True:
            page = await personnel.ListPeople(request, metadata=meta)
            for p in page.people:
                place = next((c.division.name for c in prov.counties
                              if any(r.startswith(c.division.code) for r in p.region_codes)), prefecture)
                out.append(DemoUser(f"mediator-{p.person_id}", f"{place} · 调解员 {p.name}", "mediator", p.person_id,
                                    p.organization_id, (prefecture,)))
            if not page.next_page_token:
                break
            request.page.page_token = page.next_page_token
    return out


def mediator_user(person_id: str, organization_id: str, prefecture: str) -> DemoUser:
    """The mediator ``person_id`` as a user (a test signs in as the one a dispute was offered to)."""
    return DemoUser(f"mediator-{person_id}", f"调解员 {person_id[:8]}", "mediator", person_id, organization_id,
                    (prefecture,))

