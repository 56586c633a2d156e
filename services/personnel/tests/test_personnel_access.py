"""Personnel's reads and commands under the one access policy (issue 7): removal
from the roster (除名) by the person's own organization's clerks, its supervising
bureau or a court listing them, never by any clerk of the province; edits within
region scope; the performance file for the person, their organization's clerks, the
courts listing them and the operator; lists filtered by region in the query; every
change and read of a person recorded in the audit trail."""

from __future__ import annotations

import pytest

from liandiao.auth import Claims
from liandiao.auth import Role as CallerRole
from liandiao.errors import InvalidInput, NotFound, PermissionDenied
from liandiao.personnel.v1 import personnel_pb2
from services.personnel import views
from services.personnel.domain.model import OrgKind, PersonUpdate, RemovalGround, Role
from services.personnel.tests.test_app import new_org, new_person, personnel  # noqa: F401

pytestmark = pytest.mark.stack


def clerk(org: str, scope: tuple[str, ...] = ("110105",)) -> Claims:
    return Claims(subject="clerk-x", organization_id=org, role=CallerRole.CLERK, region_scope=scope)


async def test_removal_is_for_the_persons_own_office_its_bureau_or_a_court_listing_them(personnel):  # noqa: F811
    bureau = await new_org(personnel, OrgKind.JUDICIAL_OFFICE)   # 司法所, supervising the committee
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE, parent_organization_id=bureau)
    elsewhere = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    mediator = await new_person(personnel, committee, Role.MEDIATOR)
    # A clerk of another office of the same county sees the person but may not remove them.
    with pytest.raises(PermissionDenied):
        await personnel.remove_from_roster(mediator, RemovalGround.BRIBERY, "收受当事人财物", caller=clerk(elsewhere))
    # A clerk of the person's own office, but of another region's token: not even seen.
    with pytest.raises(NotFound):
        await personnel.remove_from_roster(mediator, RemovalGround.BRIBERY, "收受当事人财物", caller=clerk(committee, ("1505",)))
    with pytest.raises(PermissionDenied):
        await personnel.update_person(mediator, PersonUpdate(paths=("on_duty",), on_duty=True),
                                      caller=clerk(elsewhere))
    removed = await personnel.remove_from_roster(mediator, RemovalGround.BRIBERY, "收受当事人财物",
                                                 caller=clerk(bureau))
    assert (removed.row.roster_status, removed.row.removal_ground) == ("removed", "bribery")
    entry = await personnel.pool.fetchrow("select actor, organization_id, role, action, reason from audit_log "
                                "where resource_id = $1 order by entry_id desc limit 1", mediator)
    assert dict(entry) == {"actor": "clerk-x", "organization_id": bureau, "role": "clerk", "action": "change",
                           "reason": "bribery: 收受当事人财物"}


async def test_removal_names_one_of_the_grounds_and_says_what_happened(personnel):  # noqa: F811
    """SPC-Invited Art.10, 28; SPC-Online Art.29: no ground, no removal; nothing stored."""
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    mediator = await new_person(personnel, committee, Role.MEDIATOR)
    with pytest.raises(InvalidInput) as refused:
        await personnel.remove_from_roster(mediator, None, " ", caller=clerk(committee))
    assert [v.field for v in refused.value.violations] == ["ground", "reason"]
    assert (await personnel.get_person(mediator)).row.roster_status == "active"
    assert {g.value for g in RemovalGround} == {"forced_mediation", "bribery", "leaking", "repeated_refusal"}
    removed = await personnel.remove_from_roster(mediator, RemovalGround.REPEATED_REFUSAL, "三次无故不接受委派",
                                                 caller=clerk(committee))
    assert views.person(removed).removal_ground == personnel_pb2.REMOVAL_GROUND_REPEATED_REFUSAL


async def test_performance_file_and_lists_follow_the_policy(personnel):  # noqa: F811
    committee = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    elsewhere = await new_org(personnel, OrgKind.MEDIATION_COMMITTEE)
    mediator = await new_person(personnel, committee, Role.MEDIATOR)
    await personnel.performance_file(mediator, clerk(committee))
    with pytest.raises(NotFound):
        await personnel.performance_file(mediator, clerk(elsewhere))
    operator = Claims("op", "dc", CallerRole.OPERATOR, ("11",))
    await personnel.performance_file(mediator, operator)
    outside = Claims("clerk-y", "office-y", CallerRole.CLERK, ("1505",))
    with pytest.raises(NotFound):
        await personnel.get_person(mediator, caller=outside)
    listed = await personnel.list_people(committee, "", "", 50, 0, outside)
    assert listed == []
    mine = await personnel.list_people(committee, "", "", 50, 0, clerk(committee))
    assert [str(p.row.person_id) for p in mine] == [mediator]


async def test_a_clerk_of_one_region_changes_nothing_of_anothers(personnel):  # noqa: F811
    """Organization, person, duty, roster and the Record* commands check the caller's
    region scope: a clerk of 朝阳区 (110105) does nothing in 海淀区 (110108). People out of
    scope are NOT_FOUND; organizations, public through the rosters, PERMISSION_DENIED."""
    from datetime import UTC, datetime

    from liandiao.legaltime import to_china_date
    from services.personnel.domain.model import NewOrganization, NewPerson
    from services.personnel.domain.performance import EvaluationResult
    from services.personnel.domain.relations import Declaration, RelationKind
    from services.personnel.domain.roster import Listing
    from services.personnel.tests.test_app import OTHER_COUNTY, licence

    haidian_office = await new_org(personnel, OrgKind.JUDICIAL_OFFICE, region_code=OTHER_COUNTY)
    haidian_court = await new_org(personnel, OrgKind.BASIC_COURT, region_code=OTHER_COUNTY)
    haidian_firm = await new_org(personnel, OrgKind.LAW_FIRM, region_code=OTHER_COUNTY)
    lawyer = await new_person(personnel, haidian_firm, Role.LAWYER, lawyer_licence_number=licence(),
                              region_codes=(OTHER_COUNTY,))
    mediator = await new_person(personnel, haidian_office, Role.MEDIATOR, region_codes=(OTHER_COUNTY,))
    chaoyang = clerk(haidian_office, ("110105",))     # even naming the office as its organization
    today = to_china_date(datetime.now(UTC)).isoformat()
    attempts = {
        "CreateOrganization": lambda who: personnel.create_organization(NewOrganization(
            kind=OrgKind.JUDICIAL_OFFICE, name="海淀某司法所", region_code=OTHER_COUNTY), caller=who),
        "CreatePerson": lambda who: personnel.create_person(NewPerson(
            name="李四", organization_id=haidian_office, roles=(Role.MEDIATOR,), region_codes=(OTHER_COUNTY,),
            specialties=("neighbours",)), caller=who),
        "SetDuty": lambda who: personnel.set_duty(lawyer, haidian_office, [today], False, caller=who),
        "DutyCoverageReport": lambda who: personnel.duty_coverage(OTHER_COUNTY, "2026-W10", "2026-W11", caller=who),
        "AddToRoster": lambda who: personnel.add_to_roster(haidian_court, mediator, "", Listing(
            ("neighbours",), False, ""), caller=who),
        "RecordTraining": lambda who: personnel.record_training(mediator, "岗前培训", 8, "2026-01-10", caller=who),
        "RecordEvaluation": lambda who: personnel.record_evaluation(mediator, "2025", EvaluationResult.COMPETENT,
                                                                    "", caller=who),
        "DeclareRelation": lambda who: personnel.declare_relation(mediator, Declaration(
            kind=RelationKind.NEAR_RELATIVE, id_number="11010519491231002X", note="妻兄"), caller=who),
    }
    expected = {"CreateOrganization": PermissionDenied, "CreatePerson": PermissionDenied, "SetDuty": NotFound,
                "DutyCoverageReport": PermissionDenied, "AddToRoster": PermissionDenied,
                "RecordTraining": NotFound, "RecordEvaluation": NotFound, "DeclareRelation": NotFound}
    refused = {}
    for name, attempt in attempts.items():
        try:
            await attempt(Claims("court-x", haidian_court, CallerRole.COURT, ("110105",)) if name == "AddToRoster"
                          else chaoyang)
            refused[name] = None
        except (PermissionDenied, NotFound) as exc:
            refused[name] = type(exc)
    assert refused == expected
    # Nothing was stored: the rota, the file and the person are as they were.
    assert (await personnel.get_person(lawyer)).duty_days == []
    assert (await personnel.performance_file(mediator)).trainings == []
    assert (await personnel.get_person(mediator)).relations == []
    # The district's own clerk does each of them.
    haidian = clerk(haidian_office, (OTHER_COUNTY,))
    for name in ("CreateOrganization", "CreatePerson", "SetDuty", "DutyCoverageReport", "RecordTraining",
                 "RecordEvaluation", "DeclareRelation"):
        await attempts[name](haidian)
    await attempts["AddToRoster"](Claims("court-y", haidian_court, CallerRole.COURT, (OTHER_COUNTY,)))
    # A court records in the files of the people its roster lists only.
    other_court = Claims("court-z", await new_org(personnel, OrgKind.BASIC_COURT, region_code=OTHER_COUNTY),
                         CallerRole.COURT, (OTHER_COUNTY,))
    with pytest.raises(PermissionDenied):
        await personnel.record_training(mediator, "调解技巧", 4, "2026-01-11", caller=other_court)
    await personnel.record_training(mediator, "调解技巧", 4, "2026-01-11",
                                    caller=Claims("court-y", haidian_court, CallerRole.COURT, (OTHER_COUNTY,)))
