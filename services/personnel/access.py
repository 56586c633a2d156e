"""Who sees and who changes personnel's records, in the terms of the one access
policy (liandiao.access, issue 7). A person's record belongs to the region of their
organization: everyone who works there reads it (the published roster is read by
anyone, SPC-Online Art.5, through ListRoster); clerks of the person's own
organization or of the judicial office (司法所) that supervises it (its parent), and the
provincial operator, edit it. Removal from the roster (除名, SPC-Invited Art.10, 28)
is decided by a clerk of the person's organization or its supervising bureau, or by a
court whose roster lists the person; never by any clerk of the province. The
performance file (业绩档案) is read by the person, their organization's clerks and
bureau, the courts whose roster lists them and the operator.

Commands on what a region holds (a new organization or person, the duty rota, a court's
roster, the records of a performance file) need the caller's region scope to cover it:
a clerk of one prefecture changes nothing of another's. Organizations are public (the
rosters publish them), so one outside the scope is PERMISSION_DENIED; a person outside
it is NOT_FOUND, as in every read."""

from __future__ import annotations

from liandiao.access import Facts, Relation, Rule, grant
from liandiao.auth import PEOPLE, Claims, Role
from liandiao.errors import PermissionDenied

PERSON = Rule(see=tuple(grant(r) for r in sorted(PEOPLE)) + (grant(Role.SERVICE),),
              act=(grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.OPERATOR)))
REMOVE = Rule(see=PERSON.see, act=(grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.COURT, via=[Relation.COURT])))
PERFORMANCE = Rule(see=(grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.COURT, via=[Relation.COURT]),
                        grant(Role.MEDIATOR, via=[Relation.SELF]), grant(Role.LAWYER, via=[Relation.SELF]),
                        grant(Role.OPERATOR)))

# The duty rota of a person: the region's clerks and the operator.
DUTY = Rule(see=PERSON.see, act=(grant(Role.CLERK), grant(Role.OPERATOR)))
# Feedback, training and evaluations in a performance file: the region's clerks, the operator,
# and a court whose roster lists the person.
RECORD = Rule(see=PERSON.see, act=(grant(Role.CLERK), grant(Role.OPERATOR), grant(Role.COURT, via=[Relation.COURT])))
# Declaring a relation (回避): the person themself, their organization's clerks, the operator.
DECLARE = Rule(see=PERSON.see, act=(grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.OPERATOR),
                                    grant(Role.MEDIATOR, via=[Relation.SELF]), grant(Role.LAWYER, via=[Relation.SELF])))


def check_region(caller: Claims | None, region_code: str, what: str) -> None:
    """PermissionDenied unless the caller's region scope covers ``region_code`` (None:
    an in-process call, no caller)."""
    if caller is not None and not caller.sees_region(region_code):
        raise PermissionDenied(f"{what} is in region {region_code}, outside the caller's region scope")


def facts(region_code: str, person_id: str, organization_id: str, supervising_org_id: str = "",
          court_org_ids: frozenset[str] = frozenset()) -> Facts:
    return Facts(region_code, {Relation.HOLDER: frozenset({organization_id, supervising_org_id} - {""}),
                               Relation.SELF: frozenset({person_id}), Relation.COURT: court_org_ids})
