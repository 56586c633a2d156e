"""PersonnelService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from liandiao.auth import PEOPLE
from liandiao.auth import Role as CallerRole
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc
from liandiao.rpc import paging
from liandiao.rpc.server import caller
from services.personnel import views
from services.personnel.app import Personnel
from services.personnel.codes import COMMITTEE_LEVEL, EVALUATION_RESULT, ORG_KIND, RELATION_KIND, REMOVAL_GROUND, ROLE
from services.personnel.domain.model import NewOrganization, NewPerson, OrgKind, PersonUpdate, RemovalGround, Role
from services.personnel.domain.performance import EvaluationResult
from services.personnel.domain.relations import Declaration, RelationKind
from services.personnel.domain.roster import Listing

_ALL = PEOPLE
_ADMIN = frozenset({CallerRole.OPERATOR, CallerRole.CLERK})
POLICY = {
    "CreateOrganization": frozenset({CallerRole.OPERATOR}),
    "GetOrganization": _ALL,
    "ListOrganizations": _ALL,
    "CreatePerson": _ADMIN,
    "GetPerson": _ALL,
    # No person's role: only the notification service's identity (liandiao.auth.SERVICE_METHODS).
    "GetPersonContact": frozenset(),
    "ListPeople": _ALL,
    # 除名: the person's organization's clerks or supervising bureau, a court listing them
    # (services.personnel.access.REMOVE); the operator no longer.
    "RemoveFromRoster": frozenset({CallerRole.CLERK, CallerRole.COURT}),
    "FindEligibleMediators": _ALL,
    "UpdatePerson": _ADMIN,
    # The person discloses (own record only) or staff record the disclosure.
    "DeclareRelation": _ADMIN | {CallerRole.MEDIATOR, CallerRole.LAWYER},
    "AddToRoster": frozenset({CallerRole.OPERATOR, CallerRole.COURT}),
    "RemoveRosterEntry": frozenset({CallerRole.OPERATOR, CallerRole.COURT}),
    "ListRoster": _ALL,   # published (SPC-Online Art.5)
    "RecordFeedback": _ADMIN | {CallerRole.COURT},
    "RecordTraining": _ADMIN | {CallerRole.COURT},
    "RecordEvaluation": _ADMIN | {CallerRole.COURT},
    "GetPerformanceFile": _ADMIN | {CallerRole.COURT, CallerRole.MEDIATOR},   # a mediator: own file only
    "SetDuty": _ADMIN,
    "DutyCoverageReport": _ADMIN | {CallerRole.LIAISON},
}


def _page(page) -> tuple[int, int]:
    return paging.page_size(page.page_size), paging.offset(page.page_token)


def _roles(numbers, field: str = "roles") -> tuple[Role, ...]:
    roles = []
    for i, number in enumerate(numbers):
        role = ROLE.to_domain(number)
        if role is None:
            raise InvalidInput(FieldViolation(f"{field}[{i}]", "unknown role"))
        roles.append(Role(role))
    return tuple(roles)


_next = paging.next_offset


class PersonnelApi(personnel_pb2_grpc.PersonnelServiceServicer):
    def __init__(self, personnel: Personnel):
        self.p = personnel

    async def CreateOrganization(self, request, context):
        kind = ORG_KIND.to_domain(request.kind)
        row, warnings = await self.p.create_organization(NewOrganization(
            kind=OrgKind(kind) if kind else None, name=request.name, region_code=request.region_code,
            credit_code=request.credit_code, parent_organization_id=request.parent_organization_id,
            committee_level=COMMITTEE_LEVEL.to_domain(request.committee_level) or "", sector=request.sector.strip(),
        ), caller())
        return views.organization(row, warnings)

    async def GetOrganization(self, request, context):
        return views.organization(await self.p.get_organization(request.organization_id))

    async def ListOrganizations(self, request, context):
        size, offset = _page(request.page)
        rows = await self.p.list_organizations(request.region_prefix, ORG_KIND.to_domain(request.kind) or "",
                                               size, offset)
        return personnel_pb2.ListOrganizationsResponse(organizations=[views.organization(o) for o in rows],
                                                       next_page_token=_next(offset, size, len(rows)))

    async def CreatePerson(self, request, context):
        snapshot = await self.p.create_person(NewPerson(
            name=request.name, organization_id=request.organization_id, roles=_roles(request.roles),
            specialties=tuple(request.specialties), languages=tuple(request.languages) or ("zh",),
            region_codes=tuple(request.region_codes), phone=request.phone, id_number=request.id_number,
            on_duty=request.on_duty, lawyer_licence_number=request.lawyer_licence_number, email=request.email,
        ), caller=caller())
        return views.person(snapshot)

    async def GetPerson(self, request, context):
        return views.person(await self.p.get_person(request.person_id, caller=caller()))

    async def GetPersonContact(self, request, context):
        person_id, phone, language, email = await self.p.get_contact(request.person_id, caller())
        return personnel_pb2.PersonContact(person_id=person_id, phone=phone, language=language, email=email)

    async def ListPeople(self, request, context):
        size, offset = _page(request.page)
        rows = await self.p.list_people(request.organization_id, ROLE.to_domain(request.role) or "",
                                        request.region_prefix, size, offset, caller())
        return personnel_pb2.ListPeopleResponse(people=[views.person(p) for p in rows],
                                                next_page_token=_next(offset, size, len(rows)))

    async def RemoveFromRoster(self, request, context):
        ground = REMOVAL_GROUND.to_domain(request.ground)
        return views.person(await self.p.remove_from_roster(
            request.person_id, RemovalGround(ground) if ground else None, request.reason, caller=caller()))

    async def FindEligibleMediators(self, request, context):
        rows = await self.p.eligible(request.region_code, request.dispute_type, request.language)
        return personnel_pb2.FindEligibleMediatorsResponse(mediators=[views.person(p) for p in rows])

    async def UpdatePerson(self, request, context):
        paths = tuple(request.update_mask.paths)
        update = PersonUpdate(
            paths=paths, roles=_roles(request.roles) if "roles" in paths else (),
            specialties=tuple(request.specialties), languages=tuple(request.languages),
            region_codes=tuple(request.region_codes), on_duty=request.on_duty, phone=request.phone,
            lawyer_licence_number=request.lawyer_licence_number, email=request.email,
        )
        return views.person(await self.p.update_person(request.person_id, update, caller=caller()))

    async def DeclareRelation(self, request, context):
        kind = RELATION_KIND.to_domain(request.kind)
        return views.person(await self.p.declare_relation(request.person_id, Declaration(
            kind=RelationKind(kind) if kind else None, id_number=request.related_id_number,
            passport_number=request.related_passport_number, credit_code=request.related_credit_code,
            note=request.note,
        ), caller()))

    async def AddToRoster(self, request, context):
        view = await self.p.add_to_roster(request.court_org_id, request.person_id, request.organization_id, Listing(
            dispute_scope=tuple(request.dispute_scope), fee_charging=request.fee_charging,
            fee_standard=request.fee_standard), caller())
        return views.roster_entry(view)

    async def RemoveRosterEntry(self, request, context):
        return views.roster_entry(await self.p.remove_roster_entry(
            request.court_org_id, request.person_id, request.organization_id, request.reason, caller()))

    async def ListRoster(self, request, context):
        size, offset = _page(request.page)
        listing = await self.p.list_roster(request.court_org_id, request.dispute_type, request.include_removed,
                                           size, offset)
        return personnel_pb2.ListRosterResponse(
            entries=[views.roster_entry(v, inherited) for v, inherited in listing.entries],
            next_page_token=_next(offset, size, len(listing.entries)), court_chain=[str(c) for c in listing.chain])

    async def RecordFeedback(self, request, context):
        return views.feedback(await self.p.record_feedback(request.person_id, request.dispute_id, request.score,
                                                           request.complaint, caller()))

    async def RecordTraining(self, request, context):
        return views.training(await self.p.record_training(request.person_id, request.course, request.hours,
                                                           request.date, caller=caller()))

    async def RecordEvaluation(self, request, context):
        result = EVALUATION_RESULT.to_domain(request.result)
        return views.evaluation(await self.p.record_evaluation(
            request.person_id, request.period, EvaluationResult(result) if result else None, request.notes,
            caller=caller()))

    async def GetPerformanceFile(self, request, context):
        size, offset = _page(request.page)
        r = await self.p.performance_file(request.person_id, caller(), size, offset)
        return views.performance_file(r.person, r.summary, r.cases, r.lapses, r.feedback, r.trainings, r.evaluations,
                                      r.next_page_token)

    async def SetDuty(self, request, context):
        return views.person(await self.p.set_duty(request.person_id, request.office_org_id, list(request.dates),
                                                  request.cancel, caller=caller()))

    async def DutyCoverageReport(self, request, context):
        report = await self.p.duty_coverage(request.region_prefix, request.from_week, request.to_week, caller())
        return personnel_pb2.DutyCoverageReportResponse(
            offices_checked=report.offices_checked, weeks=[str(w) for w in report.weeks],
            offices=[personnel_pb2.OfficeCoverage(
                organization_id=g.office.organization_id, name=g.office.name, kind=ORG_KIND.to_proto(g.office.kind),
                region_code=g.office.region_code, uncovered_weeks=[str(w) for w in g.uncovered],
                covered_weeks=g.covered) for g in report.gaps])
