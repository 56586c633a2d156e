"""Signals of false mediation (虚假调解) for the judge: evidence, never a decision.

A false mediation is collusion to obtain an enforceable title against a third party or the
public (CPL 2023 Art.115; SPC-Interp Art.358 item 2 lets the court reject such an agreement).
Nothing here refuses or rejects: each signal says what was measured, against which threshold,
and which earlier confirmations are the evidence, so the judge can look. Thresholds are
practice, not statute: SignalPolicy is configuration.

Signals:
- REPEATED_PARTY: a party (by ID fingerprint) in many confirmations within the period;
- BUSY_MEDIATOR: the same mediator in many confirmations within the period;
- UNUSUAL_AMOUNT: the agreed amount far above or below the median of the same dispute type
  in the same prefecture (only when there are enough earlier cases to have a pattern);
- FAST_AGREEMENT: effective unusually soon after the dispute was registered;
- SHARED_CONTACT / SHARED_ADDRESS: parties on opposite sides with the same phone or address,
  or a phone or address that other people used in earlier confirmations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from statistics import median

from services.confirmation.domain.model import Agreement, Party


class SignalKind(StrEnum):
    REPEATED_PARTY = "repeated_party"
    BUSY_MEDIATOR = "busy_mediator"
    UNUSUAL_AMOUNT = "unusual_amount"
    FAST_AGREEMENT = "fast_agreement"
    SHARED_CONTACT = "shared_contact"
    SHARED_ADDRESS = "shared_address"


@dataclass(frozen=True)
class PartyTrace:
    """A party of an earlier confirmation, as fingerprints (no personal data)."""

    id_fingerprint: str
    phone_fingerprint: str = ""
    address_fingerprint: str = ""


@dataclass(frozen=True, kw_only=True)
class PastConfirmation:
    """One earlier confirmation application, as the history the store provides."""

    application_id: str
    filed_at: datetime
    dispute_type: str
    region_code: str  # where the mediation organization sits
    amount_fen: int  # total of the payment terms; 0 when none
    parties: tuple[PartyTrace, ...]
    mediator_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignalPolicy:
    period: timedelta = timedelta(days=365)
    repeated_party_at: int = 3  # confirmations of one party in the period, this one included
    busy_mediator_at: int = 30
    amount_factor: float = 10.0  # above median x factor, or below median / factor
    amount_min_cases: int = 10  # earlier cases of the type and prefecture needed for a pattern
    fast_agreement_under: timedelta = timedelta(hours=2)

    def __post_init__(self) -> None:
        if self.repeated_party_at < 2 or self.busy_mediator_at < 2:
            raise ValueError("a count threshold below 2 would flag every confirmation")
        if self.amount_factor <= 1 or self.amount_min_cases < 1:
            raise ValueError("amount_factor must exceed 1 and amount_min_cases be positive")
        if self.period <= timedelta(0) or self.fast_agreement_under <= timedelta(0):
            raise ValueError("period and fast_agreement_under must be positive")


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    summary: str
    measured: float
    threshold: float
    evidence: tuple[str, ...]  # application ids of the earlier confirmations involved


def _recent(history: Iterable[PastConfirmation], now: datetime, period: timedelta) -> list[PastConfirmation]:
    return [h for h in history if now - period <= h.filed_at <= now]


def _repeated_parties(agreement: Agreement, recent: Sequence[PastConfirmation], policy: SignalPolicy) -> list[Signal]:
    signals = []
    for party in agreement.parties:
        if not party.id_fingerprint:
            continue
        hits = tuple(h.application_id for h in recent if any(p.id_fingerprint == party.id_fingerprint
                                                             for p in h.parties))
        if len(hits) + 1 >= policy.repeated_party_at:
            signals.append(Signal(SignalKind.REPEATED_PARTY,
                                  f"{party.name} is a party in {len(hits) + 1} confirmations within "
                                  f"{policy.period.days} days", len(hits) + 1, policy.repeated_party_at, hits))
    return signals


def _busy_mediators(agreement: Agreement, recent: Sequence[PastConfirmation], policy: SignalPolicy) -> list[Signal]:
    signals = []
    for mediator in agreement.mediator_ids:
        hits = tuple(h.application_id for h in recent if mediator in h.mediator_ids)
        if len(hits) + 1 >= policy.busy_mediator_at:
            signals.append(Signal(SignalKind.BUSY_MEDIATOR,
                                  f"mediator {mediator} mediated {len(hits) + 1} confirmed agreements within "
                                  f"{policy.period.days} days", len(hits) + 1, policy.busy_mediator_at, hits))
    return signals


def _unusual_amount(agreement: Agreement, history: Sequence[PastConfirmation], policy: SignalPolicy) -> list[Signal]:
    amount = agreement.total_amount_fen
    prefecture = agreement.organization.region_code[:4]
    peers = [h for h in history if h.dispute_type == agreement.dispute_type and h.amount_fen > 0
             and h.region_code[:4] == prefecture]
    if amount <= 0 or len(peers) < policy.amount_min_cases:
        return []
    typical = median(h.amount_fen for h in peers)
    ratio = amount / typical
    if 1 / policy.amount_factor < ratio < policy.amount_factor:
        return []
    direction = "above" if ratio > 1 else "below"
    return [Signal(SignalKind.UNUSUAL_AMOUNT,
                   f"{amount} fen is {ratio:.1f}x the median {typical:.0f} fen of {len(peers)} {agreement.dispute_type} "
                   f"confirmations in prefecture {prefecture} ({direction} the pattern)",
                   ratio, policy.amount_factor if ratio > 1 else 1 / policy.amount_factor,
                   tuple(h.application_id for h in peers))]


def _fast_agreement(agreement: Agreement, policy: SignalPolicy) -> list[Signal]:
    if agreement.registered_at is None:
        return []
    took = agreement.effective_at - agreement.registered_at
    if took >= policy.fast_agreement_under:
        return []
    minutes = max(took, timedelta(0)).total_seconds() / 60
    return [Signal(SignalKind.FAST_AGREEMENT, f"effective {minutes:.0f} minutes after the dispute was registered",
                   minutes, policy.fast_agreement_under.total_seconds() / 60, ())]


def _shared(agreement: Agreement, recent: Sequence[PastConfirmation], kind: SignalKind) -> list[Signal]:
    what = "phone" if kind is SignalKind.SHARED_CONTACT else "address"

    def trace(who: Party | PartyTrace) -> str:
        return who.phone_fingerprint if kind is SignalKind.SHARED_CONTACT else who.address_fingerprint

    signals = []
    parties = [p for p in agreement.parties if trace(p)]
    for i, a in enumerate(parties):
        for b in parties[i + 1:]:
            if a.side is not b.side and trace(a) == trace(b):
                signals.append(Signal(kind, f"{a.name} and {b.name}, on opposite sides, give the same {what}",
                                      2, 2, ()))
    for party in parties:
        others = tuple(h.application_id for h in recent for p in h.parties
                       if trace(p) == trace(party) and p.id_fingerprint != party.id_fingerprint)
        if others:
            signals.append(Signal(kind, f"the {what} {party.name} gives was given by other people in "
                                  f"{len(set(others))} earlier confirmations", len(set(others)), 1,
                                  tuple(sorted(set(others)))))
    return signals


def detect_signals(
    agreement: Agreement, history: Sequence[PastConfirmation], now: datetime, policy: SignalPolicy | None = None,
) -> tuple[Signal, ...]:
    """Signals for the application now before the judge. `history`: earlier confirmation
    applications (not this one); the period counts back from `now`."""
    policy = policy or SignalPolicy()
    recent = _recent(history, now, policy.period)
    return (
        *_repeated_parties(agreement, recent, policy),
        *_busy_mediators(agreement, recent, policy),
        *_unusual_amount(agreement, history, policy),
        *_fast_agreement(agreement, policy),
        *_shared(agreement, recent, SignalKind.SHARED_CONTACT),
        *_shared(agreement, recent, SignalKind.SHARED_ADDRESS),
    )
