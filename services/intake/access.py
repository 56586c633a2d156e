"""Who reads a dispute as intake registered it, in the terms of the one access
policy (liandiao.access, issue 7): anyone of the dispute's region who works it
(clerks, mediators, lawyers, liaison officers), the provincial operator; a police
station only the disputes it referred and a court only those it delegated or
commissioned, through any of the dispute's registrations (the first or a linked one).
A service identity reads within its own region scope (its method list in
liandiao.auth.SERVICE_METHODS decides whether it may call at all)."""

from __future__ import annotations

from liandiao.access import Columns, Facts, Relation, Rule, grant
from liandiao.auth import Role

DISPUTE = Rule(see=(grant(Role.CLERK), grant(Role.OPERATOR), grant(Role.MEDIATOR), grant(Role.LAWYER),
                    grant(Role.LIAISON), grant(Role.SERVICE),
                    grant(Role.POLICE, via=[Relation.REFERRER]), grant(Role.COURT, via=[Relation.COURT])))

# In the list query (alias ``d``), the referring organizations of all the dispute's
# registrations as one array, police stations and courts alike: ids of the two kinds
# never coincide.
_REFERRERS = "array(select r.referring_org_id from registrations r where r.dispute_id = d.dispute_id)"
COLUMNS = Columns(region="d.region_code", related={Relation.REFERRER: _REFERRERS, Relation.COURT: _REFERRERS},
                  arrays=frozenset({Relation.REFERRER, Relation.COURT}))


def facts(region_code: str, referring_org_ids: set[str]) -> Facts:
    orgs = frozenset(referring_org_ids - {""})
    return Facts(region_code, {Relation.REFERRER: orgs, Relation.COURT: orgs})
