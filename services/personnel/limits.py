"""Personnel's sizes and ranges, in one place: what the gRPC edge enforces on every
request (liandiao.rpc.checks) and what the rules check. A person's snapshot is the
payload of person-changed and roster-changed; with these sizes (and at most
MAX_RELATIONS declared relations, 100 rota days shown) the largest stays well under
200 KB, a fifth of Kafka's 1 MB message limit (docs/decisions.md "Bounded input")."""

from __future__ import annotations

from datetime import date

from liandiao.sizes import CODE, NAME, PHONE, REASON, SHORT, TEXT, Limits, Size

NOTE = REASON                # a declared relation's note ("spouse's brother")
REMOVAL_REASON = REASON
FEEDBACK = TEXT              # a complaint
EVALUATION_NOTES = TEXT
COURSE = SHORT
FEE_STANDARD = SHORT         # 收费标准
SPECIALTIES = 50             # the dispute-type dictionary has fewer
LANGUAGES = 10
REGION_CODES = 50
ROLES = 10
DATES_PER_CALL = 370         # a year of rota days in one call
MAX_RELATIONS = 100          # declared relations of one person: far more than anyone has

# Calendar inputs that feed a rule (the rota and its coverage report, the performance
# file): a year outside these is a typo, refused rather than stored.
EARLIEST_YEAR = 1980
LATEST_YEAR = 2100


def in_calendar(day: date) -> bool:
    return EARLIEST_YEAR <= day.year <= LATEST_YEAR


_PERSON = {"name": Size(chars=NAME), "roles": Size(items=ROLES), "specialties": Size(chars=CODE, items=SPECIALTIES),
           "languages": Size(chars=CODE, items=LANGUAGES), "region_codes": Size(chars=CODE, items=REGION_CODES),
           "phone": Size(chars=PHONE), "id_number": Size(chars=CODE), "lawyer_licence_number": Size(chars=CODE)}

LIMITS = Limits({
    "CreateOrganizationRequest.name": Size(chars=NAME),
    "CreateOrganizationRequest.region_code": Size(chars=CODE),
    "CreateOrganizationRequest.credit_code": Size(chars=CODE),
    "CreateOrganizationRequest.sector": Size(chars=CODE),
    **{f"CreatePersonRequest.{k}": v for k, v in _PERSON.items()},
    **{f"UpdatePersonRequest.{k}": v for k, v in _PERSON.items()},
    "FieldMask.paths": Size(chars=CODE, items=10),
    "RemoveFromRosterRequest.reason": Size(chars=REMOVAL_REASON),
    "RemoveRosterEntryRequest.reason": Size(chars=REMOVAL_REASON),
    "DeclareRelationRequest.related_id_number": Size(chars=CODE),
    "DeclareRelationRequest.related_credit_code": Size(chars=CODE),
    "DeclareRelationRequest.related_passport_number": Size(chars=CODE),
    "DeclareRelationRequest.note": Size(chars=NOTE),
    "AddToRosterRequest.fee_standard": Size(chars=FEE_STANDARD),
    "AddToRosterRequest.dispute_scope": Size(chars=CODE, items=SPECIALTIES),
    "RecordFeedbackRequest.complaint": Size(chars=FEEDBACK),
    "RecordTrainingRequest.course": Size(chars=COURSE),
    "RecordTrainingRequest.date": Size(chars=CODE),
    "RecordEvaluationRequest.period": Size(chars=CODE),
    "RecordEvaluationRequest.notes": Size(chars=EVALUATION_NOTES),
    "SetDutyRequest.dates": Size(chars=CODE, items=DATES_PER_CALL),
    "FindEligibleMediatorsRequest.region_code": Size(chars=CODE),
    "FindEligibleMediatorsRequest.dispute_type": Size(chars=CODE),
    "FindEligibleMediatorsRequest.language": Size(chars=CODE),
    "ListRosterRequest.dispute_type": Size(chars=CODE),
    "DutyCoverageReportRequest.region_prefix": Size(chars=CODE),
    "DutyCoverageReportRequest.from_week": Size(chars=CODE),
    "DutyCoverageReportRequest.to_week": Size(chars=CODE),
    "ListOrganizationsRequest.region_prefix": Size(chars=CODE),
    "ListPeopleRequest.region_prefix": Size(chars=CODE),
})
