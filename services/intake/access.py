"""Who reads a dispute as intake registered it, in the terms of the one access
policy (liandiao.access, issue 7): anyone of the dispute's region who works it
(clerks, mediators, liaison officers), the provincial operator; a lawyer (or
legal-service worker) only the disputes of the offices whose duty rota lists them for
the duty window (liandiao.access.DUTY_WINDOW_DAYS): those a judicial office registered
or a police station referred, through any registration; a police
station only the disputes it referred and a court only those it delegated or
commissioned, through any of the dispute's registrations (the first or a linked one).
A service identity reads within its own region scope (its method list in
liandiao.auth.SERVICE_METHODS decides whether it may call at all)."""

from __future__ import annotations

from liandiao.access import Columns, Facts, Relation, Rule, grant, on_duty_sql
from liandiao.auth import Role

DISPUTE = Rule(see=(grant(Role.CLERK), grant(Role.OPERATOR), grant(Role.MEDIATOR),
                    grant(Role.LAWYER, via=[Relation.ON_DUTY]), grant(Role.LIAISON), grant(Role.SERVICE),
                    grant(Role.POLICE, via=[Relation.REFERRER]), grant(Role.COURT, via=[Relation.COURT])))

# In the list query (alias ``d``), the referring organizations of all the dispute's
# registrations as one array, police stations and courts alike: ids of the two kinds
# never coincide.
_REFERRERS = "array(select r.referring_org_id from registrations r where r.dispute_id = d.dispute_id)"
# The offices a lawyer on duty serves the dispute through: every registration's
# registering office and referring station (a court is on no rota, so it never matches).
_OFFICES = ("array(select o from registrations r, unnest(array[r.registering_org_id, r.referring_org_id]) o "
            "where r.dispute_id = d.dispute_id)")
COLUMNS = Columns(region="d.region_code", related={Relation.REFERRER: _REFERRERS, Relation.COURT: _REFERRERS,
                                                   Relation.ON_DUTY: on_duty_sql(_OFFICES)},
                  arrays=frozenset({Relation.REFERRER, Relation.COURT, Relation.ON_DUTY}))


def offices(registering_org_ids: set[str], referring_org_ids: set[str]) -> set[str]:
    """The offices whose lawyers on duty see the dispute."""
    return (registering_org_ids | referring_org_ids) - {""}


def facts(region_code: str, referring_org_ids: set[str], on_duty: frozenset[str] = frozenset()) -> Facts:
    """``on_duty``: the people the rota lists at the dispute's ``offices`` in the duty window."""
    orgs = frozenset(referring_org_ids - {""})
    return Facts(region_code, {Relation.REFERRER: orgs, Relation.COURT: orgs, Relation.ON_DUTY: on_duty})
