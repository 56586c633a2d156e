"""The relation half of the authorization matrix (issue 7): for cases, assignments,
applications and deliveries, every method's resource rule against callers of the right
role with and without the relation, in and out of the region.

Generated from two tables:
- METHODS: every method of mediation, routing, confirmation and notification, with the
  rule of liandiao.access its service applies to one resource (the rule objects the
  services use), or the reason it acts on no single resource. A method added to a
  contract and missing here fails test_every_method_has_a_relation_rule_or_a_reason.
- EXPECTED: per resource, who is related how, stated from the issue's rules (not read
  from the rules under test): "act" (may act and see), "see" (may see, not act:
  PERMISSION_DENIED), or "none" (NOT_FOUND, nothing of it).
Callers the method-level policy refuses are left to test_authorization_matrix (the
interceptor answers them before any resource is read)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from liandiao import access
from liandiao.auth import Claims, Role
from liandiao.common.v1 import common_pb2
from liandiao.errors import NotFound, PermissionDenied
from liandiao.intake.v1 import intake_pb2
from services.confirmation import access as application
from services.mediation import access as case
from services.notification import access as delivery
from services.routing import access as assignment
from tests.security.methods import all_methods, policies

REGION = "150502"          # 科尔沁区, 通辽市
SERVICES = ("mediation", "routing", "confirmation", "notification")

# ---- METHODS: method -> (resource, rule, "see" | "act"), or a reason -----------------------
_CASE_SEES = ("GetCase", "GetTimeline", "GetAgreement", "ListDocuments", "ListMessages", "ExportCaseFile")
_CASE_ACTS = ("ScheduleSession", "RescheduleSession", "CancelSession", "RecordSession", "RecordNoShow",
              "RecordPublicityChoice", "AddMediator", "RemoveMediator", "SetPresiding", "RequestExtension",
              "RecordExtensionConsent", "SuspendForAppraisal", "ResumeFromAppraisal", "DraftAgreement",
              "EditAgreement", "DiscardDraft", "SignAgreement", "RequestSigningCode", "ApplySeal", "RecordOralAgreement", "Terminate",
              "RecordFollowUp", "RecordPerformance", "FlagFalseMediation", "UploadDocument", "PostMessage")
METHODS: dict[str, tuple[str, str, str] | str] = {
    **{f"mediation/{n}": ("case", "CASE", "see") for n in _CASE_SEES},
    **{f"mediation/{n}": ("case", "CASE", "act") for n in _CASE_ACTS},
    "mediation/ClearFalseMediation": ("case", "CLEAR", "act"),
    "mediation/ListCases": "a list: filtered in SQL by CASE (tests/e2e/test_mediation_access.py)",
    "routing/GetAssignment": ("assignment", "ASSIGNMENT", "see"),
    "routing/GetConsultation": ("assignment", "CONSULT", "see"),
    "routing/AcceptAssignment": ("assignment", "ANSWER_OFFER", "act"),
    "routing/DeclineAssignment": ("assignment", "ANSWER_OFFER", "act"),
    "routing/Reassign": ("assignment", "DIRECT", "act"),
    "routing/RecordPartiesChoice": ("assignment", "DIRECT", "act"),
    "routing/CallConsultation": ("assignment", "CONSULT", "act"),
    "routing/RecordConsultationPlan": ("assignment", "CONSULT", "act"),
    "confirmation/Apply": ("application", "APPLY", "act"),
    "confirmation/GetApplication": ("application", "APPLICATION", "see"),
    "confirmation/AcceptApplication": ("application", "COURT_ACT", "act"),
    "confirmation/RefuseApplication": ("application", "COURT_ACT", "act"),
    "confirmation/RequestSupplement": ("application", "COURT_ACT", "act"),
    "confirmation/ExtendReview": ("application", "COURT_ACT", "act"),
    "confirmation/Rule": ("application", "COURT_ACT", "act"),
    "confirmation/SupplementMaterials": ("application", "SUPPLEMENT", "act"),
    "confirmation/Object": ("application", "OBJECT", "act"),
    "confirmation/ListApplications": "a list: filtered in SQL by APPLICATION (services/confirmation/tests)",
    "confirmation/VerifyRuling": "public: anyone holding a ruling checks it by case number and digest",
    "confirmation/WithdrawApplication": ("application", "SUPPLEMENT", "act"),
    "confirmation/ListCourtKeys": "public: the courts' published public keys, no stored resource",
    "notification/ResendDelivery": ("delivery", "DELIVERY", "act"),
    "notification/ListDeliveries": "a list: filtered in SQL by DELIVERY (tests/e2e/test_mediation_access.py)",
    "notification/Preview": "renders a template with sample data: no stored resource",
}
_MODULES = {"case": case, "assignment": assignment, "application": application, "delivery": delivery}


# ---- the resources and who is related to them ------------------------------------------------
def _dispute(source: int, referrer: str) -> intake_pb2.DisputeRegistered:
    return intake_pb2.DisputeRegistered(region_code=REGION, source=source, referring_org_id=referrer,
                                        registering_org_id="office-a")


_ON_DUTY = frozenset({"lawyer-d"})


RESOURCES: dict[str, access.Facts] = {
    # A police referral mediated by committee-a's mediator-a; a court delegation beside it. Both
    # registered at office-a, whose duty rota lists lawyer-d this week (the service asks its
    # projection of the rota for the caller: liandiao.dutyrota.caller_on_duty).
    "case": case.facts(REGION, "committee-a", "station-a", "mediator-a", on_duty=_ON_DUTY),
    "case of a court": case.facts(REGION, "committee-a", "court-a", "mediator-a", on_duty=_ON_DUTY),
    "assignment": assignment.facts(_dispute(common_pb2.CASE_SOURCE_POLICE_REFERRAL, "station-a"), {"mediator-a"},
                                   "committee-a", _ON_DUTY),
    "assignment of a court": assignment.facts(_dispute(common_pb2.CASE_SOURCE_COURT_DELEGATION, "court-a"),
                                              {"mediator-a"}, "committee-a", _ON_DUTY),
    # Applied to court-a by committee-a's agreement, lawyer-a a party's agent.
    "application": application.facts(REGION, {"court-a"}, "committee-a", {"lawyer-a"}),
    # A message to mediator-a, and one to station-a.
    "delivery": access.Facts(REGION, {access.Relation.SELF: frozenset({"mediator-a"}),
                                      access.Relation.ADDRESSEE: frozenset({"mediator-a"})}),
    "delivery to a station": access.Facts(REGION, {access.Relation.SELF: frozenset({"station-a"}),
                                                   access.Relation.ADDRESSEE: frozenset({"station-a"})}),
}


@dataclass(frozen=True)
class Caller:
    role: Role
    subject: str = "someone"
    organization: str = "org-x"
    scope: tuple[str, ...] = ("1505",)

    def claims(self) -> Claims:
        return Claims(self.subject, self.organization, self.role, self.scope)


CALLERS = {
    "its mediator": Caller(Role.MEDIATOR, "mediator-a", "committee-a"),
    "another mediator of the committee": Caller(Role.MEDIATOR, "mediator-b", "committee-a"),
    "its mediator with another prefecture's token": Caller(Role.MEDIATOR, "mediator-a", "committee-a", ("1504",)),
    "the committee's clerk": Caller(Role.CLERK, "clerk-a", "committee-a"),
    "another office's clerk": Caller(Role.CLERK, "clerk-b", "office-b"),
    "the committee's clerk of another prefecture": Caller(Role.CLERK, "clerk-a", "committee-a", ("1504",)),
    "the referring station": Caller(Role.POLICE, "officer-a", "station-a"),
    "another station": Caller(Role.POLICE, "officer-b", "station-b"),
    "the court": Caller(Role.COURT, "judge-a", "court-a"),
    "another court": Caller(Role.COURT, "judge-b", "court-b"),
    "the parties' lawyer": Caller(Role.LAWYER, "lawyer-a", "firm-a"),
    "another lawyer": Caller(Role.LAWYER, "lawyer-b", "firm-b"),
    "the lawyer on duty at the office": Caller(Role.LAWYER, "lawyer-d", "firm-d"),
    "the lawyer on duty with another prefecture's token": Caller(Role.LAWYER, "lawyer-d", "firm-d", ("1504",)),
    "the region's liaison officer": Caller(Role.LIAISON, "liaison-a", "office-b"),
    "the operator": Caller(Role.OPERATOR, "op", "data-centre", ("15",)),
    "the operator of another province": Caller(Role.OPERATOR, "op", "data-centre", ("11",)),
}

# EXPECTED[resource][rule][caller]: "act", "see" or "none"; a caller not named is "none".
_N = "none"
EXPECTED: dict[str, dict[str, dict[str, str]]] = {
    # The case's mediators act; the committee's clerks, the referring station or court, the
    # operator and a lawyer on the rota of its office read (issue 8 "Access", issue 7); clearing
    # a false-mediation flag is the clerks'.
    "case": {
        "CASE": {"its mediator": "act", "the committee's clerk": "see", "the referring station": "see",
                 "the operator": "see", "the lawyer on duty at the office": "see"},
        "CLEAR": {"its mediator": "see", "the committee's clerk": "act", "the referring station": "see",
                  "the operator": "see", "the lawyer on duty at the office": "see"},
    },
    "case of a court": {
        "CASE": {"its mediator": "act", "the committee's clerk": "see", "the court": "see", "the operator": "see",
                 "the lawyer on duty at the office": "see"},
        "CLEAR": {"its mediator": "see", "the committee's clerk": "act", "the court": "see", "the operator": "see",
                  "the lawyer on duty at the office": "see"},
    },
    # Routing: the region's clerks and liaison officers, the operator; the offered mediator; the
    # station that referred, the court that delegated; a lawyer on the rota of its office reads.
    "assignment": {
        "ASSIGNMENT": {"its mediator": "see", "the committee's clerk": "see", "another office's clerk": "see",
                       "the referring station": "see", "the region's liaison officer": "see", "the operator": "see",
                       "the lawyer on duty at the office": "see"},
        "ANSWER_OFFER": {"its mediator": "act", "the committee's clerk": "act", "another office's clerk": "act",
                         "the referring station": "see", "the region's liaison officer": "see", "the operator": "act",
                         "the lawyer on duty at the office": "see"},
        "DIRECT": {"its mediator": "see", "the committee's clerk": "act", "another office's clerk": "act",
                   "the referring station": "see", "the region's liaison officer": "see", "the operator": "act",
                   "the lawyer on duty at the office": "see"},
        # 会商: any member of the coordination group of the dispute's region calls one.
        "CONSULT": {"its mediator": "act", "the committee's clerk": "act", "another office's clerk": "act",
                    "the referring station": "act", "another station": "act", "the court": "act",
                    "another court": "act", "the region's liaison officer": "see", "the operator": "act",
                    "the lawyer on duty at the office": "see"},
    },
    "assignment of a court": {
        "ASSIGNMENT": {"its mediator": "see", "the committee's clerk": "see", "another office's clerk": "see",
                       "the court": "see", "the region's liaison officer": "see", "the operator": "see",
                       "the lawyer on duty at the office": "see"},
        "DIRECT": {"its mediator": "see", "the committee's clerk": "act", "another office's clerk": "act",
                   "the court": "act", "the region's liaison officer": "see", "the operator": "act",
                   "the lawyer on duty at the office": "see"},
    },
    # Confirmation: the court applied to decides; the parties' agents and the committee apply,
    # supplement, object; the operator reads.
    "application": {
        "APPLICATION": {"the court": "see", "the parties' lawyer": "see", "the committee's clerk": "see",
                        "its mediator": "see", "another mediator of the committee": "see", "the operator": "see"},
        "APPLY": {"the court": "see", "the parties' lawyer": "act", "the committee's clerk": "act",
                  "its mediator": "act", "another mediator of the committee": "act", "the operator": "see"},
        "COURT_ACT": {"the court": "act", "the parties' lawyer": "see", "the committee's clerk": "see",
                      "its mediator": "see", "another mediator of the committee": "see", "the operator": "see"},
        "SUPPLEMENT": {"the court": "act", "the parties' lawyer": "act", "the committee's clerk": "act",
                       "its mediator": "act", "another mediator of the committee": "act", "the operator": "see"},
        # A third party has no account: the court records its objection.
        "OBJECT": {"the court": "act", "the parties' lawyer": "act", "the committee's clerk": "see",
                   "its mediator": "see", "another mediator of the committee": "see", "the operator": "see"},
    },
    # Notification: the region's clerks follow up and resend; a person or office reads its own.
    "delivery": {
        "DELIVERY": {"the committee's clerk": "act", "another office's clerk": "act", "its mediator": "see",
                     "the operator": "act"},
    },
    "delivery to a station": {
        "DELIVERY": {"the committee's clerk": "act", "another office's clerk": "act", "the referring station": "see",
                     "the operator": "act"},
    },
}
# Applications are filed by the committee for the parties: its mediators are "HOLDER" there
# through their organization, whichever case they mediated.
_KIND_OF = {r: r.split(" ")[0] for r in RESOURCES}


def _method_names(service: str) -> set[str]:
    return {f"{service}/{m.name}" for m in all_methods() if m.service == service}


def test_every_method_has_a_relation_rule_or_a_reason():
    known = set().union(*(_method_names(s) for s in SERVICES))
    assert sorted(known - set(METHODS)) == [], "classify the new method in METHODS (its resource rule, or why none)"
    assert sorted(set(METHODS) - known) == []
    for name, entry in METHODS.items():
        if isinstance(entry, tuple):
            kind, rule, _ = entry
            assert isinstance(getattr(_MODULES[kind], rule), access.Rule), name
            assert any(rule in EXPECTED[r] for r in RESOURCES if _KIND_OF[r] == kind), (name, rule)


def _outcome(rule: access.Rule, how: str, caller: Claims, facts: access.Facts) -> str:
    try:
        if how == "see":
            access.check_see(rule, caller, facts, "resource")
        else:
            access.check_act(rule, caller, facts, "resource", "change")
    except NotFound:
        return "NOT_FOUND"
    except PermissionDenied:
        return "PERMISSION_DENIED"
    return "OK"


_WANT = {("see", "act"): "OK", ("see", "see"): "OK", ("see", "none"): "NOT_FOUND",
         ("act", "act"): "OK", ("act", "see"): "PERMISSION_DENIED", ("act", "none"): "NOT_FOUND"}


def _cases():
    for name, entry in METHODS.items():
        if not isinstance(entry, tuple):
            continue
        kind, rule_name, how = entry
        service, method = name.split("/")
        roles = policies()[service][method]
        for resource in (r for r in RESOURCES if _KIND_OF[r] == kind and rule_name in EXPECTED[r]):
            yield name, resource, rule_name, how, roles


@pytest.mark.parametrize("name, resource, rule_name, how, roles",
                         [pytest.param(*c, id=f"{c[0]}@{c[1]}") for c in _cases()])
def test_each_method_against_related_and_unrelated_callers(name, resource, rule_name, how, roles):
    rule = getattr(_MODULES[_KIND_OF[resource]], rule_name)
    facts = RESOURCES[resource]
    got, want = {}, {}
    for who, caller in CALLERS.items():
        if caller.role not in roles:
            continue      # refused by the interceptor: test_authorization_matrix
        got[who] = _outcome(rule, how, caller.claims(), facts)
        want[who] = _WANT[(how, EXPECTED[resource][rule_name].get(who, _N))]
    assert got == want


def test_unrelated_callers_of_every_role_are_in_the_table():
    """Each resource has, for the roles that work it, a caller without the relation: another
    station, another court, another office's clerk, another mediator, another lawyer."""
    unrelated = {"another station", "another court", "another office's clerk", "another mediator of the committee",
                 "another lawyer", "the committee's clerk of another prefecture", "the operator of another province"}
    assert unrelated <= set(CALLERS)
    for resource, rules in EXPECTED.items():
        for rule_name, table in rules.items():
            assert table.get("another station", _N) in (_N, "act"), (resource, rule_name)  # CONSULT: any member
            assert table.get("the committee's clerk of another prefecture", _N) == _N
            assert table.get("the operator of another province", _N) == _N
            assert table.get("its mediator with another prefecture's token", _N) == _N
            assert table.get("the lawyer on duty with another prefecture's token", _N) == _N


def test_a_lawyer_reaches_only_the_offices_on_their_rota():
    """The lawyer on duty (值班律师) sees the case and the assignment of a dispute of their office
    and acts on neither; the same lawyer off the rota (the service found no rota day) sees
    nothing; confirmation and notification grant the rota nothing (a lawyer there is a party's
    agent, or the addressee)."""
    lawyer = CALLERS["the lawyer on duty at the office"].claims()
    for resource, rules in EXPECTED.items():
        for rule_name, table in rules.items():
            want = "see" if _KIND_OF[resource] in ("case", "assignment") else _N
            assert table.get("the lawyer on duty at the office", _N) == want, (resource, rule_name)
    off_rota = {"case": case.facts(REGION, "committee-a", "station-a", "mediator-a"),
                "assignment": assignment.facts(_dispute(common_pb2.CASE_SOURCE_POLICE_REFERRAL, "station-a"),
                                               {"mediator-a"}, "committee-a")}
    assert not case.CASE.may_see(lawyer, off_rota["case"]) and case.CASE.may_see(lawyer, RESOURCES["case"])
    assert not case.CASE.may_act(lawyer, RESOURCES["case"])
    assert not assignment.ASSIGNMENT.may_see(lawyer, off_rota["assignment"])
    assert assignment.ASSIGNMENT.may_see(lawyer, RESOURCES["assignment"])
    assert assignment.offices(_dispute(common_pb2.CASE_SOURCE_POLICE_REFERRAL, "station-a")) == {"office-a",
                                                                                                 "station-a"}
    assert assignment.offices(_dispute(common_pb2.CASE_SOURCE_COURT_DELEGATION, "court-a")) == {"office-a"}
    # The list query asks the same rota in SQL: the caller's own id against the rota of the row's offices.
    where, params = access.visible_sql(case.CASE, lawyer, case.COLUMNS, 1)
    assert "duty_rota" in where and "registering_org_id" in where and "lawyer-d" in params


def test_statistics_are_read_by_region_scope_alone_the_operators_too():
    """The board and the figures (services/statistics): the region's clerks and liaison officers,
    supervisors and the operator, each within their own scope; no relation reaches them."""
    from services.statistics import access as statistics
    region = access.Facts(REGION)
    seen = {who for who, c in CALLERS.items() if statistics.BOARD.may_see(c.claims(), region)}
    assert seen == {"the committee's clerk", "another office's clerk", "the region's liaison officer", "the operator"}
    with pytest.raises(NotFound):
        statistics.check_region(CALLERS["the operator of another province"].claims(), REGION)
    supervisor = Claims("sup", "bureau-a", Role.SUPERVISOR, ("1505",))
    statistics.check_region(supervisor, REGION)
    assert statistics.ledger_scope(CALLERS["the operator"].claims(), "office-a") == ("15",)


def test_only_who_writes_reviews_or_delegated_a_case_reads_its_agreements_personal_data():
    """The agreement's ID numbers, addresses and phones (and its signed text): the case's mediators,
    the committee's clerks, the delegating court; the referring station, the operator and a lawyer
    on duty see the case with them masked."""
    full = {r: {who for who, c in CALLERS.items() if case.PERSONAL_DATA.may_see(c.claims(), RESOURCES[r])}
            for r in ("case", "case of a court")}
    assert full == {"case": {"its mediator", "the committee's clerk"},
                    "case of a court": {"its mediator", "the committee's clerk", "the court"}}
    for r, readers in full.items():   # every reader in full may see the case at all
        assert all(case.CASE.may_see(CALLERS[who].claims(), RESOURCES[r]) for who in readers)
