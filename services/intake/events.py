"""Intake's outgoing event payloads: stored rows -> protobuf. No raw ID number or
phone leaves intake: parties travel as PartyRef (fingerprint and masked values)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from liandiao.common.v1 import common_pb2
from liandiao.intake.v1 import intake_pb2
from services.intake import store
from services.intake.codes import COURT_PROCEDURE, PARTY_KIND, SIDE, SOURCE


def _ts(value) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def party_ref(p: store.PartyRow) -> common_pb2.PartyRef:
    return common_pb2.PartyRef(
        party_id=str(p.party_id), display_name=p.name, kind=PARTY_KIND.to_proto(p.kind),
        side=SIDE.to_proto(p.side), id_fingerprint=p.id_fp or "", masked_id_number=p.id_masked,
        masked_phone=p.phone_masked, language=p.language,
    )


def dispute_registered(d: store.DisputeRow, parties: list[store.PartyRow]) -> intake_pb2.DisputeRegistered:
    return intake_pb2.DisputeRegistered(
        dispute_id=str(d.dispute_id), region_code=d.region_code, dispute_type=d.dispute_type,
        source=SOURCE.to_proto(d.source), court_procedure=COURT_PROCEDURE.to_proto(d.court_procedure or ""),
        referring_org_id=d.referring_org_id, parties=[party_ref(p) for p in parties],
        amount_in_dispute_fen=d.amount_fen, registered_at=_ts(d.registered_at),
        chosen_mediator_id=d.chosen_mediator_id, risk_score=d.risk_score,
    )


def risk_flagged(d: store.DisputeRow) -> intake_pb2.RiskFlagged:
    return intake_pb2.RiskFlagged(
        dispute_id=str(d.dispute_id), region_code=d.region_code, risk_score=d.risk_score,
        reasons=d.risk_reasons, flagged_at=_ts(d.registered_at),
    )
