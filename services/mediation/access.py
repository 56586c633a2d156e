"""Who reads a mediation case and who acts on it, in the terms of the one access policy
(liandiao.access, issue 7; issue 8 "Access"): the case's mediators, the clerks of the
organization that holds it, the court that delegated or commissioned it (its own cases),
the police station that referred it (to follow its referral), and the provincial
operator read it, and so does a lawyer on the duty rota of the office that registered it or
the station that referred it (the relation intake and routing honour too); only the case's
mediators act on it. Clearing a suspicion of false
mediation is the holding organization's clerks' (not the mediator whose case it is)."""

from __future__ import annotations

from liandiao.access import Columns, Facts, Relation, Rule, grant, on_duty_sql
from liandiao.auth import Role

_SEE = (grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.COURT, via=[Relation.COURT]),
        grant(Role.POLICE, via=[Relation.REFERRER]), grant(Role.OPERATOR),
        grant(Role.LAWYER, via=[Relation.ON_DUTY]))

CASE = Rule(
    see=_SEE,
    act=(grant(Role.MEDIATOR, via=[Relation.MEDIATOR]), grant(Role.LAWYER, via=[Relation.MEDIATOR])),
)

# The agreement's personal data in full (the parties' ID numbers, addresses and phones, PML
# Art.29, and the signed document that holds them): the case's mediators who write it, the
# holding committee's clerks, the court that delegated it. Everyone else who may see the case
# (the referring station, the provincial operator, a lawyer on duty) reads them masked (issue 7:
# "the provincial operator everything without decrypted personal data").
PERSONAL_DATA = Rule(see=(grant(Role.MEDIATOR, via=[Relation.MEDIATOR]), grant(Role.LAWYER, via=[Relation.MEDIATOR]),
                          grant(Role.CLERK, via=[Relation.HOLDER]), grant(Role.COURT, via=[Relation.COURT])))

# ClearFalseMediation: the committee's clerks decide, never the case's own mediator.
CLEAR = Rule(see=(*_SEE, grant(Role.MEDIATOR, via=[Relation.MEDIATOR])),
             act=(grant(Role.CLERK, via=[Relation.HOLDER]),))

# The cases table: the referring organization is a police station or a court by the
# case's source; organization ids are unique across kinds, so one column serves both.
COLUMNS = Columns(region="region_code", related={
    Relation.HOLDER: "organization_id", Relation.COURT: "referring_org_id",
    Relation.REFERRER: "referring_org_id", Relation.MEDIATOR: "mediator_ids",
    # A court (the referring organization of a delegation) is on no rota: it never matches.
    Relation.ON_DUTY: on_duty_sql("array[cases.registering_org_id, cases.referring_org_id]")},
    arrays=frozenset({Relation.MEDIATOR, Relation.ON_DUTY}))


def facts(region_code: str, organization_id: str, referring_org_id: str, *mediator_ids: str,
          on_duty: frozenset[str] = frozenset()) -> Facts:
    """``on_duty``: the lawyers the rota lists at the case's offices in the duty window."""
    def one(value: str) -> frozenset[str]:
        return frozenset({value} - {""})

    return Facts(region_code, {Relation.HOLDER: one(organization_id), Relation.COURT: one(referring_org_id),
                               Relation.REFERRER: one(referring_org_id),
                               Relation.MEDIATOR: frozenset(mediator_ids) - {""}, Relation.ON_DUTY: on_duty})
