"""The one access policy (issue 7), pure: who sees and who acts, by role, region scope
and relation. tests/integration/test_access_sql.py checks that its SQL form keeps the
same rows."""

from __future__ import annotations

import pytest

from liandiao.access import Facts, Relation, Rule, check_act, check_see, grant, narrow_scope
from liandiao.auth import Claims, Role
from liandiao.errors import NotFound, PermissionDenied

# A case, as mediation would describe it: held by committee C1 in county 150502, referred by
# police station P1, delegated by court T1, mediated by m1 and m2.
CASE = Facts("150502001", {Relation.HOLDER: frozenset({"C1"}), Relation.REFERRER: frozenset({"P1"}),
                           Relation.COURT: frozenset({"T1"}), Relation.MEDIATOR: frozenset({"m1", "m2"})})
RULE = Rule(
    see=(grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.POLICE, via=[Relation.REFERRER]),
         grant(Role.COURT, via=[Relation.COURT]), grant(Role.OPERATOR)),
    act=(grant(Role.MEDIATOR, via=[Relation.MEDIATOR]),),
)


def who(role: Role, org: str = "", person: str = "x", scope: tuple[str, ...] = ("15",)) -> Claims:
    return Claims(subject=person, organization_id=org, role=role, region_scope=scope)


@pytest.mark.parametrize("caller, sees, acts", [
    (who(Role.CLERK, "C1"), True, False),                      # the holding committee's clerk
    (who(Role.CLERK, "C2"), False, False),                     # another committee's clerk, same region
    (who(Role.CLERK, "C1", scope=("1504",)), False, False),    # right org, token of another prefecture
    (who(Role.POLICE, "P1"), True, False),                     # the station that referred
    (who(Role.POLICE, "P2"), False, False),                    # another station
    (who(Role.COURT, "T1"), True, False),
    (who(Role.COURT, "T9"), False, False),
    (who(Role.MEDIATOR, "C1", "m2"), True, True),              # one of the case's mediators
    (who(Role.MEDIATOR, "C1", "m3"), False, False),            # a mediator of the same committee, not on it
    (who(Role.OPERATOR, "dc"), True, False),                   # the provincial operator reads
    (who(Role.OPERATOR, "dc", scope=()), False, False),        # a token with no region scope sees nothing
    (who(Role.LAWYER, "L1"), False, False),                    # no grant at all
    (who(Role.POLICE, ""), False, False),                      # no organization: no relation
])
def test_who_sees_and_who_acts(caller, sees, acts):
    assert RULE.may_see(caller, CASE) is sees
    assert RULE.may_act(caller, CASE) is acts


def test_not_seeing_is_not_found_and_seeing_without_acting_is_permission_denied():
    with pytest.raises(NotFound):
        check_see(RULE, who(Role.POLICE, "P2"), CASE, "case 1")
    with pytest.raises(NotFound):
        check_act(RULE, who(Role.POLICE, "P2"), CASE, "case 1", "terminate")
    with pytest.raises(NotFound):
        check_see(RULE, who(Role.OPERATOR, "dc"), None, "case 1")          # missing looks the same
    with pytest.raises(PermissionDenied, match="may see case 1 but not terminate it"):
        check_act(RULE, who(Role.CLERK, "C1"), CASE, "case 1", "terminate")
    assert check_act(RULE, who(Role.MEDIATOR, "C1", "m1"), CASE, "case 1", "terminate") is CASE


@pytest.mark.parametrize("scope, prefix, narrowed", [
    (("15",), "", ("15",)), (("15",), "1505", ("1505",)), (("1505",), "15", ("1505",)),
    (("1505",), "1504", ()), (("150502", "150421"), "1504", ("150421",)),
])
def test_a_query_narrows_the_scope_never_widens_it(scope, prefix, narrowed):
    assert narrow_scope(scope, prefix) == narrowed
