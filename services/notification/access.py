"""Who reads notification's deliveries, in the terms of the one access policy
(liandiao.access, issue 7): the clerks of the dispute's region (they follow up what
reached whom) and the provincial operator; a person the message was for, and the
station or court it was addressed to, read their own deliveries only; a party's own
messages (and those to its agents) are read also by that party's agent (代理人) and the
case's mediator (issue 10)."""

from __future__ import annotations

from liandiao.access import Columns, Relation, Rule, grant
from liandiao.auth import Role

DELIVERY = Rule(
    see=(grant(Role.CLERK), grant(Role.OPERATOR),
         grant(Role.MEDIATOR, via=[Relation.SELF, Relation.MEDIATOR]), grant(Role.LIAISON, via=[Relation.SELF]),
         grant(Role.LAWYER, via=[Relation.SELF, Relation.AGENT]),
         grant(Role.POLICE, via=[Relation.ADDRESSEE]), grant(Role.COURT, via=[Relation.ADDRESSEE])),
    act=(grant(Role.CLERK), grant(Role.OPERATOR)),
)
# A party's agents and the case's mediator, from the projections intake's contacts and routing's
# assignment keep (agents, disputes): evaluated per delivery row, so one assigned later reads
# the messages sent before.
# (ARRAY(subquery), not a bare subquery: "$n = any((select ...))" would compare with each row.)
_AGENTS = ("array(select a.agent_id from agents a where a.dispute_id = deliveries.dispute_id "
           "and deliveries.recipient_kind = 'party' and a.party_id = deliveries.recipient_id)")
_MEDIATOR = ("array(select ds.mediator_id from disputes ds where ds.dispute_id = deliveries.dispute_id "
             "and deliveries.recipient_kind in ('party', 'agent') and ds.mediator_id <> '')")
# One recipient column for both: person ids and organization ids never coincide.
COLUMNS = Columns(region="region_code", related={Relation.SELF: "recipient_id", Relation.ADDRESSEE: "recipient_id",
                                                 Relation.AGENT: _AGENTS, Relation.MEDIATOR: _MEDIATOR},
                  arrays=frozenset({Relation.AGENT, Relation.MEDIATOR}))
