"""PersonnelService over gRPC: protobuf <-> domain, nothing else."""

from __future__ import annotations

from liandiao.auth import Role as CallerRole
from liandiao.errors import FieldViolation, InvalidInput
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc
from services.personnel import store, views
from services.personnel.app import Personnel, parse_uuid
from services.personnel.codes import COMMITTEE_LEVEL, ORG_KIND, ROLE
from services.personnel.domain.model import NewOrganization, NewPerson, OrgKind, Role

_ALL = frozenset(CallerRole)
_ADMIN = frozenset({CallerRole.OPERATOR, CallerRole.CLERK})
POLICY = {
    "CreateOrganization": frozenset({CallerRole.OPERATOR}),
    "GetOrganization": _ALL,
    "ListOrganizations": _ALL,
    "CreatePerson": _ADMIN,
    "GetPerson": _ALL,
    "ListPeople": _ALL,
    "RemoveFromRoster": _ADMIN | {CallerRole.COURT},
    "FindEligibleMediators": _ALL,
}


def _page(page) -> tuple[int, int]:
    size = page.page_size or 50
    if not 1 <= size <= 200:
        raise InvalidInput(FieldViolation("page.page_size", "must be between 1 and 200"))
    try:
        offset = int(page.page_token or 0)
    except ValueError:
        raise InvalidInput(FieldViolation("page.page_token", "is not a token from a previous page")) from None
    return size, offset


class PersonnelApi(personnel_pb2_grpc.PersonnelServiceServicer):
    def __init__(self, personnel: Personnel):
        self.p = personnel

    async def CreateOrganization(self, request, context):
        kind = ORG_KIND.to_domain(request.kind)
        row = await self.p.create_organization(NewOrganization(
            kind=OrgKind(kind) if kind else None, name=request.name, region_code=request.region_code,
            credit_code=request.credit_code, parent_organization_id=request.parent_organization_id,
            committee_level=COMMITTEE_LEVEL.to_domain(request.committee_level) or "",
        ))
        return views.organization(row)

    async def GetOrganization(self, request, context):
        return views.organization(await self.p.get_organization(request.organization_id))

    async def ListOrganizations(self, request, context):
        size, offset = _page(request.page)
        async with self.p.pool.acquire() as conn:
            rows = await store.list_orgs(conn, request.region_prefix, ORG_KIND.to_domain(request.kind) or "",
                                         size, offset)
        return personnel_pb2.ListOrganizationsResponse(
            organizations=[views.organization(o) for o in rows],
            next_page_token=str(offset + size) if len(rows) == size else "")

    async def CreatePerson(self, request, context):
        roles = []
        for i, number in enumerate(request.roles):
            role = ROLE.to_domain(number)
            if role is None:
                raise InvalidInput(FieldViolation(f"roles[{i}]", "unknown role"))
            roles.append(Role(role))
        row = await self.p.create_person(NewPerson(
            name=request.name, organization_id=request.organization_id, roles=tuple(roles),
            specialties=tuple(request.specialties), languages=tuple(request.languages) or ("zh",),
            region_codes=tuple(request.region_codes), phone=request.phone, id_number=request.id_number,
            on_duty=request.on_duty,
        ))
        return views.person(row)

    async def GetPerson(self, request, context):
        return views.person(await self.p.get_person(request.person_id))

    async def ListPeople(self, request, context):
        size, offset = _page(request.page)
        org = parse_uuid("organization_id", request.organization_id, required=False)
        async with self.p.pool.acquire() as conn:
            rows = await store.list_people(conn, org, ROLE.to_domain(request.role) or "", request.region_prefix,
                                           size, offset)
        return personnel_pb2.ListPeopleResponse(people=[views.person(p) for p in rows],
                                                next_page_token=str(offset + size) if len(rows) == size else "")

    async def RemoveFromRoster(self, request, context):
        return views.person(await self.p.remove_from_roster(request.person_id, request.reason))

    async def FindEligibleMediators(self, request, context):
        rows = await self.p.eligible(request.region_code, request.dispute_type, request.language)
        return personnel_pb2.FindEligibleMediatorsResponse(mediators=[views.person(p) for p in rows])
