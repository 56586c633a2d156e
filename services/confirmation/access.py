"""Who sees and who acts on an application for judicial confirmation, in the terms of the one
access policy (liandiao.access, issue 7; issue 9 "Access").

- The court applied to (a tribunal, or the basic court it belongs to) sees its applications.
  Its clerks (Role.COURT) docket: accept or refuse, ask for materials, record what is brought;
  the judge (Role.JUDGE) does that too and alone rules, asks for the extension, and departs
  from the admissibility proposal (only with a recorded reason, enforced in app.py). Both read.
- The parties' agents (lawyers) and the parties themselves see their own applications and apply,
  supplement, object.
- The mediation organization that made the agreement (its clerks, its mediators) sees them and
  may file the joint application on the parties' behalf.
- The provincial operator sees all.
Region scope always applies (liandiao.access.Grant)."""

from __future__ import annotations

from liandiao.access import Columns, Facts, Relation, Rule, grant
from liandiao.auth import Role

_SEE = (grant(Role.COURT, via=[Relation.COURT]), grant(Role.JUDGE, via=[Relation.COURT]),
        grant(Role.LAWYER, via=[Relation.AGENT]),
        grant(Role.CLERK, via=[Relation.HOLDER, Relation.AGENT]),
        grant(Role.MEDIATOR, via=[Relation.HOLDER, Relation.AGENT]), grant(Role.OPERATOR))

APPLICATION = Rule(see=_SEE)
# Filing for the parties: their agents, or the organization that mediated.
APPLY = Rule(see=_SEE, act=(grant(Role.LAWYER, via=[Relation.AGENT]),
                            grant(Role.CLERK, via=[Relation.HOLDER, Relation.AGENT]),
                            grant(Role.MEDIATOR, via=[Relation.HOLDER, Relation.AGENT])))
# Docketing: accept, refuse, ask for materials (the court's clerks and its judges).
COURT_ACT = Rule(see=_SEE, act=(grant(Role.COURT, via=[Relation.COURT]), grant(Role.JUDGE, via=[Relation.COURT])))
# The judge's acts: rule (SPC-2011 Art.5; a sole judge, CPL 2023 Art.185) and extend the review.
JUDGE_ACT = Rule(see=_SEE, act=(grant(Role.JUDGE, via=[Relation.COURT]),))
# Bringing materials: the applicants' side, or the court recording what was handed in.
SUPPLEMENT = Rule(see=_SEE, act=(*APPLY.act, grant(Role.COURT, via=[Relation.COURT])))
# An objection: a party's agent, the organization for a party, or the court recording one (a
# third party has no account; the court records its objection).
OBJECT = Rule(see=_SEE, act=(grant(Role.LAWYER, via=[Relation.AGENT]), grant(Role.CLERK, via=[Relation.AGENT]),
                             grant(Role.COURT, via=[Relation.COURT]), grant(Role.JUDGE, via=[Relation.COURT])))

COLUMNS = Columns(region="region_code", related={
    Relation.COURT: "court_ids", Relation.HOLDER: "organization_id", Relation.AGENT: "agent_ids"},
    arrays=frozenset({Relation.AGENT, Relation.COURT}))


def facts(region_code: str, court_ids: set[str], organization_id: str, agent_ids: set[str]) -> Facts:
    return Facts(region_code, {Relation.COURT: frozenset(court_ids - {""}),
                               Relation.HOLDER: frozenset({organization_id} - {""}),
                               Relation.AGENT: frozenset(agent_ids - {""})})
