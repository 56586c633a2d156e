"""Protobuf enum <-> domain value tables for personnel's contract."""

from liandiao.personnel.v1 import personnel_pb2 as p
from liandiao.rpc.enums import EnumMap
from services.personnel.domain.model import CommitteeLevel, OrgKind, Role, RosterStatus
from services.personnel.domain.performance import EvaluationResult, Outcome
from services.personnel.domain.relations import RelationKind

ORG_KIND = EnumMap({
    p.ORGANIZATION_KIND_JUDICIAL_OFFICE: OrgKind.JUDICIAL_OFFICE,
    p.ORGANIZATION_KIND_POLICE_STATION: OrgKind.POLICE_STATION,
    p.ORGANIZATION_KIND_PEOPLES_TRIBUNAL: OrgKind.PEOPLES_TRIBUNAL,
    p.ORGANIZATION_KIND_BASIC_COURT: OrgKind.BASIC_COURT,
    p.ORGANIZATION_KIND_LAW_FIRM: OrgKind.LAW_FIRM,
    p.ORGANIZATION_KIND_LEGAL_SERVICE_OFFICE: OrgKind.LEGAL_SERVICE_OFFICE,
    p.ORGANIZATION_KIND_MEDIATION_COMMITTEE: OrgKind.MEDIATION_COMMITTEE,
})
COMMITTEE_LEVEL = EnumMap({p.COMMITTEE_LEVEL_VILLAGE: CommitteeLevel.VILLAGE,
                           p.COMMITTEE_LEVEL_TOWNSHIP: CommitteeLevel.TOWNSHIP,
                           p.COMMITTEE_LEVEL_SECTOR: CommitteeLevel.SECTOR})
ROLE = EnumMap({
    p.ROLE_MEDIATOR: Role.MEDIATOR, p.ROLE_LAWYER: Role.LAWYER, p.ROLE_LEGAL_SERVICE_WORKER: Role.LEGAL_SERVICE_WORKER,
    p.ROLE_JUDGE: Role.JUDGE, p.ROLE_CLERK: Role.CLERK, p.ROLE_POLICE_OFFICER: Role.POLICE_OFFICER,
    p.ROLE_LIAISON_OFFICER: Role.LIAISON_OFFICER,
})
ROSTER_STATUS = EnumMap({p.ROSTER_STATUS_ACTIVE: RosterStatus.ACTIVE, p.ROSTER_STATUS_REMOVED: RosterStatus.REMOVED})
RELATION_KIND = EnumMap({p.RELATION_KIND_NEAR_RELATIVE: RelationKind.NEAR_RELATIVE,
                         p.RELATION_KIND_INTEREST: RelationKind.INTEREST, p.RELATION_KIND_OTHER: RelationKind.OTHER})
EVALUATION_RESULT = EnumMap({
    p.EVALUATION_RESULT_EXCELLENT: EvaluationResult.EXCELLENT,
    p.EVALUATION_RESULT_COMPETENT: EvaluationResult.COMPETENT,
    p.EVALUATION_RESULT_BASICALLY_COMPETENT: EvaluationResult.BASICALLY_COMPETENT,
    p.EVALUATION_RESULT_INCOMPETENT: EvaluationResult.INCOMPETENT,
})
CASE_OUTCOME = EnumMap({p.CASE_OUTCOME_OPEN: Outcome.OPEN, p.CASE_OUTCOME_AGREEMENT: Outcome.AGREEMENT,
                        p.CASE_OUTCOME_FAILED: Outcome.FAILED})
