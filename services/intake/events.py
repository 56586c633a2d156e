"""Intake's outgoing event payloads: stored rows -> protobuf. No raw ID number or
phone leaves intake: parties travel as PartyRef (fingerprint and masked values),
their agents as fingerprints only."""

from __future__ import annotations

from collections.abc import Sequence

from liandiao.common.v1 import common_pb2
from liandiao.intake.v1 import intake_pb2
from liandiao.rpc.convert import timestamp
from services.intake import store
from services.intake.codes import COURT_PROCEDURE, PARTY_KIND, SIDE, SOURCE
from services.intake.domain.model import OfficeKind


def party_ref(p: store.PartyRow, agents: Sequence[store.AgentRow] = ()) -> common_pb2.PartyRef:
    return common_pb2.PartyRef(
        party_id=str(p.party_id), display_name=p.name, kind=PARTY_KIND.to_proto(p.kind),
        side=SIDE.to_proto(p.side), id_fingerprint=p.id_fp or "", masked_id_number=p.id_masked,
        masked_phone=p.phone_masked, language=p.language,
        # SPC-Invited Art.15: a mediator related to an agent must step aside too.
        agent_fingerprints=[a.id_fp for a in agents],
    )


def dispute_registered(d: store.DisputeRow, parties: list[store.PartyRow],
                       agents: dict | None = None) -> intake_pb2.DisputeRegistered:
    by_party = agents or {}
    return intake_pb2.DisputeRegistered(
        dispute_id=str(d.dispute_id), region_code=d.region_code, dispute_type=d.dispute_type,
        source=SOURCE.to_proto(d.source), court_procedure=COURT_PROCEDURE.to_proto(d.court_procedure or ""),
        referring_org_id=d.referring_org_id, parties=[party_ref(p, by_party.get(p.party_id, ())) for p in parties],
        amount_in_dispute_fen=d.amount_fen, registered_at=timestamp(d.registered_at),
        chosen_mediator_id=d.chosen_mediator_id, risk_score=d.risk_score,
        referral_reference=d.referral_reference, referring_system_id=d.referring_system_id,
        registering_org_id=d.registering_org_id,
    )


def risk_flagged(w: store.WarningRow, level: int, unacknowledged: Sequence[OfficeKind]) -> intake_pb2.RiskFlagged:
    return intake_pb2.RiskFlagged(
        dispute_id=str(w.dispute_id), region_code=w.region_code, risk_score=w.risk_score,
        reasons=w.reasons, flagged_at=timestamp(w.flagged_at), escalation_level=level,
        unacknowledged_offices=[o.value for o in unacknowledged],
    )


def warning_acknowledged(w: store.WarningRow, ack: store.AckRow, all_acknowledged: bool) -> intake_pb2.WarningAcknowledged:
    return intake_pb2.WarningAcknowledged(
        dispute_id=str(w.dispute_id), region_code=w.region_code, office=ack.office,
        organization_id=ack.organization_id, flagged_at=timestamp(w.flagged_at),
        acknowledged_at=timestamp(ack.acknowledged_at), all_acknowledged=all_acknowledged,
    )
