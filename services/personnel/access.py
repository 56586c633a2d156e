"""Who sees and who changes personnel's records, in the terms of the one access
policy (liandiao.access, issue 7). A person's record belongs to the region of their
organization: everyone who works there reads it (the published roster is read by
anyone, SPC-Online Art.5, through ListRoster); clerks of the person's own
organization or of the judicial office (司法所) that supervises it (its parent), and the
provincial operator, edit it. Removal from the roster (除名, SPC-Invited Art.10, 28)
is decided by a clerk of the person's organization or its supervising bureau, or by a
court whose roster lists the person; never by any clerk of the province. The
performance file (业绩档案) is read by the person, their organization's clerks and
bureau, the courts whose roster lists them and the operator."""

from __future__ import annotations

from liandiao.access import Facts, Relation, Rule, grant
from liandiao.auth import PEOPLE, Role

PERSON = Rule(see=tuple(grant(r) for r in sorted(PEOPLE)) + (grant(Role.SERVICE),),
              act=(grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.OPERATOR)))
REMOVE = Rule(see=PERSON.see, act=(grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.COURT, via=[Relation.COURT])))
PERFORMANCE = Rule(see=(grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.COURT, via=[Relation.COURT]),
                        grant(Role.MEDIATOR, via=[Relation.SELF]), grant(Role.LAWYER, via=[Relation.SELF]),
                        grant(Role.OPERATOR)))


def facts(region_code: str, person_id: str, organization_id: str, supervising_org_id: str = "",
          court_org_ids: frozenset[str] = frozenset()) -> Facts:
    return Facts(region_code, {Relation.HOLDER: frozenset({organization_id, supervising_org_id} - {""}),
                               Relation.SELF: frozenset({person_id}), Relation.COURT: court_org_ids})
