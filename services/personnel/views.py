"""Stored rows -> protobuf (API responses and event payloads share these)."""

from __future__ import annotations

from liandiao.personnel.v1 import personnel_pb2
from liandiao.rpc.convert import timestamp
from services.personnel import store
from services.personnel.codes import (
    CASE_OUTCOME,
    COMMITTEE_LEVEL,
    EVALUATION_RESULT,
    ORG_KIND,
    RELATION_KIND,
    REMOVAL_GROUND,
    ROLE,
    ROSTER_STATUS,
)
from services.personnel.domain.performance import Summary


def organization(o: store.OrgRow, warnings: list[str] | None = None) -> personnel_pb2.Organization:
    return personnel_pb2.Organization(
        organization_id=str(o.organization_id), kind=ORG_KIND.to_proto(o.kind), name=o.name,
        region_code=o.region_code, credit_code=o.credit_code,
        parent_organization_id=str(o.parent_organization_id or ""),
        committee_level=COMMITTEE_LEVEL.to_proto(o.committee_level), created_at=timestamp(o.created_at),
        sector=o.sector, warnings=warnings or [],
    )


def person(s: store.PersonSnapshot) -> personnel_pb2.Person:
    p = s.row
    return personnel_pb2.Person(
        person_id=str(p.person_id), name=p.name, organization_id=str(p.organization_id),
        roles=[ROLE.to_proto(r) for r in p.roles], specialties=p.specialties, languages=p.languages,
        region_codes=p.region_codes, roster_status=ROSTER_STATUS.to_proto(p.roster_status),
        removal_reason=p.removal_reason, removal_ground=REMOVAL_GROUND.to_proto(p.removal_ground),
        masked_phone=p.phone_masked, on_duty=p.on_duty, updated_at=timestamp(p.updated_at),
        relations=[personnel_pb2.Relation(kind=RELATION_KIND.to_proto(r.kind), id_fingerprint=r.id_fingerprint,
                                          note=r.note) for r in s.relations],
        roster_court_ids=[str(c) for c in s.roster_court_ids],
        masked_lawyer_licence=p.licence_masked,
        duty_days=[personnel_pb2.DutyDay(office_org_id=str(d.office_org_id), date=d.duty_date.isoformat())
                   for d in s.duty_days],
    )


def roster_entry(v: store.RosterView, inherited: bool = False) -> personnel_pb2.RosterEntry:
    e = v.entry
    return personnel_pb2.RosterEntry(
        entry_id=str(e.entry_id), court_org_id=str(e.court_org_id), court_name=v.court_name, inherited=inherited,
        person_id=str(e.person_id or ""), organization_id=str(e.member_org_id or ""), name=v.name,
        organization_kind=ORG_KIND.to_proto(v.organization_kind), organization_name=v.organization_name,
        region_code=v.region_code, credit_code=v.credit_code, dispute_scope=e.dispute_scope,
        expertise=v.expertise, languages=v.languages, roles=[ROLE.to_proto(r) for r in v.roles],
        fee_charging=e.fee_charging, fee_standard=e.fee_standard, status=ROSTER_STATUS.to_proto(e.status),
        removal_reason=e.removal_reason, listed_at=timestamp(e.listed_at), removed_at=timestamp(e.removed_at),
    )


def feedback(f: store.FeedbackRow) -> personnel_pb2.FeedbackRecord:
    return personnel_pb2.FeedbackRecord(feedback_id=str(f.feedback_id), person_id=str(f.person_id),
                                        dispute_id=str(f.dispute_id), score=f.score, complaint=f.complaint,
                                        recorded_at=timestamp(f.recorded_at))


def training(t: store.TrainingRow) -> personnel_pb2.TrainingRecord:
    return personnel_pb2.TrainingRecord(training_id=str(t.training_id), person_id=str(t.person_id), course=t.course,
                                        hours=t.hours, date=t.held_on.isoformat())


def evaluation(e: store.EvaluationRow) -> personnel_pb2.EvaluationRecord:
    return personnel_pb2.EvaluationRecord(evaluation_id=str(e.evaluation_id), person_id=str(e.person_id),
                                          period=e.period, result=EVALUATION_RESULT.to_proto(e.result),
                                          notes=e.notes, recorded_at=timestamp(e.recorded_at))


def performance_file(p: store.PersonRow, summary: Summary, cases: list[store.CaseRow], lapses: list[store.LapseRow],
                     feedback_rows: list[store.FeedbackRow], trainings: list[store.TrainingRow],
                     evaluations: list[store.EvaluationRow], next_page_token: str = "") -> personnel_pb2.PerformanceFile:
    return personnel_pb2.PerformanceFile(
        person_id=str(p.person_id), name=p.name, roster_status=ROSTER_STATUS.to_proto(p.roster_status),
        removal_reason=p.removal_reason, cases_accepted=summary.cases_accepted, agreements=summary.agreements,
        failures=summary.failures, open_cases=summary.open_cases, settled=summary.settled, offers_lapsed=summary.offers_lapsed,
        feedback_count=summary.feedback_count, feedback_average=summary.feedback_average,
        complaints=summary.complaints, training_hours=summary.training_hours,
        cases=[personnel_pb2.CaseRecord(dispute_id=str(c.dispute_id), dispute_type=c.dispute_type,
                                        region_code=c.region_code, accepted_at=timestamp(c.accepted_at),
                                        outcome=CASE_OUTCOME.to_proto(c.outcome), outcome_detail=c.detail,
                                        outcome_at=timestamp(c.outcome_at)) for c in cases],
        lapsed_offers=[personnel_pb2.LapsedOffer(dispute_id=str(x.dispute_id), expired_at=timestamp(x.expired_at))
                       for x in lapses],
        feedback=[feedback(f) for f in feedback_rows],
        trainings=[training(t) for t in trainings],
        evaluations=[evaluation(e) for e in evaluations],
        review_flags=list(summary.review_flags), next_page_token=next_page_token,
    )
