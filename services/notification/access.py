"""Who reads notification's deliveries, in the terms of the one access policy
(liandiao.access, issue 7): the clerks of the dispute's region (they follow up what
reached whom) and the provincial operator; a person the message was for, and the
station or court it was addressed to, read their own deliveries only."""

from __future__ import annotations

from liandiao.access import Columns, Relation, Rule, grant
from liandiao.auth import Role

DELIVERY = Rule(
    see=(grant(Role.CLERK), grant(Role.OPERATOR),
         grant(Role.MEDIATOR, via=[Relation.SELF]), grant(Role.LIAISON, via=[Relation.SELF]),
         grant(Role.LAWYER, via=[Relation.SELF]),
         grant(Role.POLICE, via=[Relation.ADDRESSEE]), grant(Role.COURT, via=[Relation.ADDRESSEE])),
    act=(grant(Role.CLERK), grant(Role.OPERATOR)),
)
# One recipient column for both: person ids and organization ids never coincide.
COLUMNS = Columns(region="region_code", related={Relation.SELF: "recipient_id", Relation.ADDRESSEE: "recipient_id"})
