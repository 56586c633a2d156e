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
from liandiao.errors import NotFound, PermissionDenied
from services.personnel.domain.model import OrgKind, PersonUpdate, Role
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
        await personnel.remove_from_roster(mediator, "收受当事人财物", caller=clerk(elsewhere))
    # A clerk of the person's own office, but of another region's token: not even seen.
    with pytest.raises(NotFound):
        await personnel.remove_from_roster(mediator, "收受当事人财物", caller=clerk(committee, ("1505",)))
    with pytest.raises(PermissionDenied):
        await personnel.update_person(mediator, PersonUpdate(paths=("on_duty",), on_duty=True),
                                      caller=clerk(elsewhere))
    removed = await personnel.remove_from_roster(mediator, "收受当事人财物", caller=clerk(bureau))
    assert removed.row.roster_status == "removed"
    entry = await personnel.pool.fetchrow("select actor, organization_id, role, action, reason from audit_log "
                                "where resource_id = $1 order by entry_id desc limit 1", mediator)
    assert dict(entry) == {"actor": "clerk-x", "organization_id": bureau, "role": "clerk", "action": "change",
                           "reason": "收受当事人财物"}


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
