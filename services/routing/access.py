"""Who sees and who acts on routing's assignments and consultations, in the terms of
the one access policy (liandiao.access, issue 7). A clerk of the coordination group
works within their region; the offered mediator answers their own offer; the police
station that referred and the court that delegated see the dispute they sent; a lawyer on
the duty rota of the office that registered it or the station that referred it sees it (as
in intake and mediation); the provincial operator sees all and may act for an absent clerk."""

from __future__ import annotations

from liandiao.access import Facts, Relation, Rule, grant
from liandiao.auth import Role
from liandiao.common.v1 import common_pb2
from liandiao.intake.v1 import intake_pb2

_COURT_SOURCES = (common_pb2.CASE_SOURCE_COURT_DELEGATION, common_pb2.CASE_SOURCE_COURT_COMMISSION)

_SEE = (grant(Role.CLERK), grant(Role.OPERATOR), grant(Role.LIAISON),
        grant(Role.MEDIATOR, via=[Relation.MEDIATOR]), grant(Role.LAWYER, via=[Relation.MEDIATOR]),
        grant(Role.POLICE, via=[Relation.REFERRER]), grant(Role.COURT, via=[Relation.COURT]),
        grant(Role.LAWYER, via=[Relation.ON_DUTY]))

ASSIGNMENT = Rule(see=_SEE)
# Accept or decline: the offered mediator (a lawyer on the roster too), or a clerk recording it for them.
ANSWER_OFFER = Rule(see=_SEE, act=(grant(Role.MEDIATOR, via=[Relation.MEDIATOR]),
                                   grant(Role.LAWYER, via=[Relation.MEDIATOR]),
                                   grant(Role.CLERK), grant(Role.OPERATOR)))
# Reassign, record the parties' joint choice: the region's clerks, the court for its own delegations.
DIRECT = Rule(see=_SEE, act=(grant(Role.CLERK), grant(Role.OPERATOR), grant(Role.COURT, via=[Relation.COURT])))
# Joint consultation (会商): any member of the coordination group of the dispute's region.
CONSULT = Rule(see=_SEE, act=(grant(Role.CLERK), grant(Role.OPERATOR), grant(Role.POLICE), grant(Role.COURT),
                              grant(Role.MEDIATOR, via=[Relation.MEDIATOR])))


def offices(d: intake_pb2.DisputeRegistered) -> set[str]:
    """The offices whose lawyers on duty follow the dispute: the registering office and a
    referring station (a court is on no rota)."""
    station = {d.referring_org_id} if d.source not in _COURT_SOURCES else set()
    return ({d.registering_org_id} | station) - {""}


def facts(d: intake_pb2.DisputeRegistered, mediator_ids: set[str], organization_id: str = "",
          on_duty: frozenset[str] = frozenset()) -> Facts:
    """What the policy knows of one dispute in routing: its region, who referred it,
    the court behind it, the mediator(s) offered or assigned and their organization, the
    lawyers on duty at its ``offices``."""
    referrer = {d.referring_org_id} if d.referring_org_id and d.source not in _COURT_SOURCES else set()
    court = {d.referring_org_id} if d.referring_org_id and d.source in _COURT_SOURCES else set()
    return Facts(d.region_code, {Relation.REFERRER: frozenset(referrer), Relation.COURT: frozenset(court),
                                 Relation.MEDIATOR: frozenset(m for m in mediator_ids if m),
                                 Relation.HOLDER: frozenset({organization_id} - {""}),
                                 Relation.ON_DUTY: on_duty})
