"""Protobuf enum <-> domain value tables for intake's contract."""

from liandiao.common.v1 import common_pb2 as c
from liandiao.intake.v1 import intake_pb2 as i
from liandiao.personnel.v1 import personnel_pb2 as pe
from liandiao.rpc.enums import EnumMap
from services.intake.domain.model import (
    AgentAuthority,
    Consent,
    IdType,
    OfficeKind,
    PartyKind,
    Procedure,
    Side,
    Source,
    Status,
)

SOURCE = EnumMap({
    c.CASE_SOURCE_PARTY_APPLICATION: Source.PARTY_APPLICATION,
    c.CASE_SOURCE_OWN_INITIATIVE: Source.OWN_INITIATIVE,
    c.CASE_SOURCE_POLICE_REFERRAL: Source.POLICE_REFERRAL,
    c.CASE_SOURCE_COURT_DELEGATION: Source.COURT_DELEGATION,
    c.CASE_SOURCE_COURT_COMMISSION: Source.COURT_COMMISSION,
    c.CASE_SOURCE_DEPARTMENT_REFERRAL: Source.DEPARTMENT_REFERRAL,
    c.CASE_SOURCE_ONLINE: Source.ONLINE,
})
COURT_PROCEDURE = EnumMap({c.COURT_PROCEDURE_ORDINARY: Procedure.ORDINARY,
                           c.COURT_PROCEDURE_SIMPLIFIED: Procedure.SIMPLIFIED})
PARTY_KIND = EnumMap({c.PARTY_KIND_NATURAL_PERSON: PartyKind.PERSON, c.PARTY_KIND_ORGANIZATION: PartyKind.ORGANIZATION})
SIDE = EnumMap({c.PARTY_SIDE_APPLICANT: Side.APPLICANT, c.PARTY_SIDE_RESPONDENT: Side.RESPONDENT})
ID_TYPE = EnumMap({
    i.ID_DOCUMENT_TYPE_RESIDENT_ID: IdType.RESIDENT_ID,
    i.ID_DOCUMENT_TYPE_HMT_RESIDENCE_PERMIT: IdType.HMT_PERMIT,
    i.ID_DOCUMENT_TYPE_FOREIGNER_PR_CARD: IdType.FOREIGNER_PR_CARD,
    i.ID_DOCUMENT_TYPE_PASSPORT: IdType.PASSPORT,
    i.ID_DOCUMENT_TYPE_NONE: IdType.NONE,
})
CONSENT = EnumMap({i.CONSENT_DECISION_GIVEN: Consent.GIVEN, i.CONSENT_DECISION_REFUSED: Consent.REFUSED})
STATUS = EnumMap({i.DISPUTE_STATUS_REGISTERED: Status.REGISTERED, i.DISPUTE_STATUS_REFUSED: Status.REFUSED})
AGENT_AUTHORITY = EnumMap({i.AGENT_AUTHORITY_GENERAL: AgentAuthority.GENERAL,
                           i.AGENT_AUTHORITY_SPECIAL: AgentAuthority.SPECIAL})
LIAISON_OFFICE = EnumMap({
    i.LIAISON_OFFICE_POLICE_STATION: OfficeKind.POLICE_STATION,
    i.LIAISON_OFFICE_PEOPLES_TRIBUNAL: OfficeKind.PEOPLES_TRIBUNAL,
    i.LIAISON_OFFICE_JUDICIAL_OFFICE: OfficeKind.JUDICIAL_OFFICE,
})
# personnel's organization kinds that receive early warnings; the others do not.
ORGANIZATION_OFFICE = EnumMap({
    pe.ORGANIZATION_KIND_POLICE_STATION: OfficeKind.POLICE_STATION,
    pe.ORGANIZATION_KIND_PEOPLES_TRIBUNAL: OfficeKind.PEOPLES_TRIBUNAL,
    pe.ORGANIZATION_KIND_JUDICIAL_OFFICE: OfficeKind.JUDICIAL_OFFICE,
})
