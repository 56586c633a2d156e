"""The false-mediation rule (虚假调解, DOMAIN.md §4; issue 8: "a mediator or a rule flags it").

When an agreement takes effect, the rule looks for two signs and, on either, flags the case the
way a person would (decide_flag_false_mediation: suspended, reported to the judicial office and,
when court-related, the court), with `reported_by` naming the rule. DOMAIN.md names no thresholds
(§4 says only that suspected false mediation is suspended and reported), so both signs are
practice values a region sets (main.load_config, docs/operations.md); 0 turns a sign off:

- fast and large: money terms together at or above `fast_amount_fen` in an agreement effective
  within `fast_minutes` of the case's opening (the mediator's acceptance): a large sum agreed
  before anyone could have looked at the dispute is the pattern of a staged debt;
- repeat party: a party (by its ID fingerprint) in `repeat_cases` or more cases of the committee,
  this one included, opened within `repeat_days` before now: the same person again and again is
  the pattern of manufactured claims (e.g. to get ahead of other creditors in enforcement).

The rule never decides that mediation was false: it holds the case for a person to clear
(decide_clear_false_mediation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from services.mediation.domain.content import Money
from services.mediation.domain.ending import FlagFalseMediation, decide_flag_false_mediation
from services.mediation.domain.events import AgreementEffective
from services.mediation.domain.model import Actor, ActorRole, Case, Decision, HoldKind

FAST_AND_LARGE = "rule:fast-large-agreement"
REPEAT_PARTY = "rule:repeat-party"


@dataclass(frozen=True)
class FalseMediationRules:
    """The thresholds; 0 turns a sign off."""

    fast_amount_fen: int = 10_000_000  # 100,000 yuan
    fast_minutes: int = 120
    repeat_cases: int = 3
    repeat_days: int = 90

    def __post_init__(self) -> None:
        for name in ("fast_amount_fen", "fast_minutes", "repeat_cases", "repeat_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a whole number, 0 or more, not {value!r}")


@dataclass(frozen=True)
class CaseOfParty:
    """Another case of the same committee with a party of the same ID fingerprint (store query)."""

    case_id: UUID
    opened_at: datetime
    id_fingerprint: str


def money_total_fen(effective: AgreementEffective) -> int:
    """The agreement's money terms together, in fen (CNY only: other currencies are not summed
    with yuan; they are rare in people's mediation and left to the mediator's judgement)."""
    return sum(t.obligation.amount_fen for t in effective.content.terms
               if isinstance(t.obligation, Money) and t.obligation.currency == "CNY")


def fast_and_large(case: Case, effective: AgreementEffective, rules: FalseMediationRules) -> str | None:
    if not rules.fast_amount_fen or not rules.fast_minutes:
        return None
    total = money_total_fen(effective)
    took = effective.effective_at - case.clock.accepted_at
    if total >= rules.fast_amount_fen and took <= timedelta(minutes=rules.fast_minutes):
        return (f"money terms of {total / 100:.2f} yuan agreed {int(took.total_seconds() // 60)} minutes after "
                f"the case opened (rule: {rules.fast_amount_fen / 100:.2f} yuan or more within "
                f"{rules.fast_minutes} minutes)")
    return None


def repeat_party(case: Case, others: Sequence[CaseOfParty], rules: FalseMediationRules, now: datetime) -> str | None:
    if not rules.repeat_cases or not rules.repeat_days:
        return None
    since = now - timedelta(days=rules.repeat_days)
    for party in case.parties:
        if not party.id_fingerprint:
            continue
        seen = {o.case_id for o in others if o.id_fingerprint == party.id_fingerprint
                and o.case_id != case.case_id and since <= o.opened_at <= now}
        if len(seen) + 1 >= rules.repeat_cases:
            return (f"party {party.party_id} is a party of {len(seen) + 1} cases of this committee opened within "
                    f"{rules.repeat_days} days (rule: {rules.repeat_cases} or more)")
    return None


def decide_false_mediation_rule(case: Case, effective: AgreementEffective, others: Sequence[CaseOfParty],
                                rules: FalseMediationRules, now: datetime) -> Decision | None:
    """`case` just took effect with `effective`; `others`: the committee's other cases with a
    party of the same ID fingerprint. A Decision flagging it when a sign is present, else None."""
    if case.hold(HoldKind.FALSE_MEDIATION):
        return None
    found = [(name, why) for name, why in ((FAST_AND_LARGE, fast_and_large(case, effective, rules)),
                                           (REPEAT_PARTY, repeat_party(case, others, rules, now))) if why]
    if not found:
        return None
    rule = Actor(",".join(name for name, _ in found), case.organization_id, ActorRole.SYSTEM)
    reason = "; ".join(why for _, why in found)
    return decide_flag_false_mediation(case, FlagFalseMediation(reason=reason, actor=rule), now)
