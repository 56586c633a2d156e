"""Protobuf enum <-> domain value tables for intake's contract."""

from liandiao.common.v1 import common_pb2 as c
from liandiao.intake.v1 import intake_pb2 as i
from liandiao.rpc.enums import CASE_SOURCE, EnumMap
from liandiao.rpc.enums import COURT_PROCEDURE as COURT_PROCEDURE_MAP
from services.intake.domain.model import Consent, IdType, PartyKind, Side, Status

# Same numbers and values as every other service: one table in liandiao.rpc.enums.
SOURCE, COURT_PROCEDURE = CASE_SOURCE, COURT_PROCEDURE_MAP
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
