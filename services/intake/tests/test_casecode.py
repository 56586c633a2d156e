"""The case code's alphabet and check character, the look-up lock at its boundaries,
and the status a party reads at each stage (pure: no stack)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from liandiao.legaltime import load_calendar
from services.intake.domain import casecode
from services.intake.domain.lookups import Counter, LookupPolicy, after_failure, is_locked
from services.intake.domain.status import Facts, NextStep, Session, Stage, Term, describe, stage_of

ALPHABET = casecode.ALPHABET


def test_the_alphabet_is_crockfords_base32_without_look_alikes():
    assert len(ALPHABET) == 32 and len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET)
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def test_a_new_code_is_ten_characters_of_the_alphabet_with_its_check_character():
    codes = {casecode.new_code() for _ in range(2000)}
    assert len(codes) == 2000   # 45 random bits: no repeat in a few thousand
    for code in codes:
        assert len(code) == 10 and set(code) <= set(ALPHABET)
        assert casecode.is_valid(code)
    # Every character of the alphabet turns up in every random position (nothing fixed, no date, no region).
    for position in range(casecode.RANDOM_LENGTH):
        assert {c[position] for c in codes} == set(ALPHABET)


@pytest.mark.parametrize("seed", range(20))
def test_every_single_mistyped_character_is_caught(seed):
    code = random.Random(seed).choice([casecode.new_code() for _ in range(5)])
    for i, wrong in itertools.product(range(len(code)), ALPHABET):
        if wrong != code[i]:
            assert not casecode.is_valid(code[:i] + wrong + code[i + 1:]), (code, i, wrong)


def test_swapped_neighbours_are_caught_except_zero_and_z():
    """Luhn mod 32 catches every adjacent swap but that of the values 0 and 31 ("0" and "Z")."""
    missed = set()
    body = "".join(random.Random(7).choice(ALPHABET) for _ in range(7))
    for a, b in itertools.permutations(ALPHABET, 2):
        code = body + a + b
        code += casecode.check_character(code)
        swapped = body + b + a + code[-1]
        if casecode.is_valid(swapped):
            missed.add(frozenset((a, b)))
    assert missed == {frozenset(("0", "Z"))}


def test_known_check_characters():
    # Worked by hand (Luhn mod 32, factor 2 on the rightmost character of the body).
    assert casecode.check_character("000000000") == "0"
    assert casecode.check_character("000000001") == "Y"   # 2*1 = 2; (32 - 2) % 32 = 30 -> "Y"
    assert casecode.check_character("000000010") == "Z"   # 1*1 = 1; 31 -> "Z"
    # "G" is 16: 2*16 = 32, whose base-32 digits sum to 1 + 0 = 1 -> 31 -> "Z".
    assert casecode.check_character("00000000G") == "Z"


def test_what_a_person_types_is_read_forgivingly_but_a_typo_is_refused():
    code = casecode.new_code()
    shown = casecode.shown(code)
    assert shown == f"{code[:5]}-{code[5:]}"
    assert casecode.canonical(shown) == code
    assert casecode.canonical(f"  {shown.lower()} ") == code
    assert casecode.canonical(code[:3] + " " + code[3:]) == code
    # Crockford's decoding: O is 0, I and L are 1.
    with_zero = "0" + code[1:]
    fixed = with_zero[:-1] + casecode.check_character(with_zero[:-1])
    assert casecode.canonical("o" + fixed[1:]) == fixed
    with_one = "1" + code[1:]
    fixed = with_one[:-1] + casecode.check_character(with_one[:-1])
    assert casecode.canonical("I" + fixed[1:]) == casecode.canonical("l" + fixed[1:]) == fixed
    assert casecode.canonical(code[:-1]) is None                 # one short
    assert casecode.canonical(code + "0") is None                # one too many
    assert casecode.canonical(code[:-1] + "U") is None           # U is not in the alphabet
    wrong = ALPHABET[(ALPHABET.index(code[0]) + 1) % 32] + code[1:]
    assert casecode.canonical(wrong) is None                     # a typo: the check character fails
    assert casecode.canonical("") is None


def test_the_lookup_hash_input_is_labelled_so_it_never_equals_another_fingerprint():
    assert casecode.lookup_input("ABCDEFGHJ0") == "liandiao/case-code/v1:ABCDEFGHJ0"


# ---- the lock ---------------------------------------------------------------------
T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
POLICY = LookupPolicy()


def _fail(times: int, limit: int, start: datetime = T0, step: timedelta = timedelta(seconds=10)) -> Counter:
    c = Counter()
    for i in range(times):
        c = after_failure(c, limit, POLICY, start + i * step)
    return c


def test_defaults_are_five_per_code_twenty_per_client_fifteen_minutes_thirty_locked():
    assert (POLICY.code_failures, POLICY.client_failures) == (5, 20)
    assert (POLICY.window, POLICY.lock) == (timedelta(minutes=15), timedelta(minutes=30))


def test_the_fifth_failure_of_a_code_locks_it_the_fourth_does_not():
    four = _fail(4, POLICY.code_failures)
    assert four.failures == 4 and not is_locked(four, T0 + timedelta(seconds=31))
    five = _fail(5, POLICY.code_failures)
    at = T0 + timedelta(seconds=40)
    assert five.locked_until == at + timedelta(minutes=30)
    assert is_locked(five, at) and is_locked(five, at + timedelta(minutes=30) - timedelta(microseconds=1))
    assert not is_locked(five, at + timedelta(minutes=30))   # the lock ends at that instant


def test_the_twentieth_failure_from_a_client_locks_it():
    assert not is_locked(_fail(19, POLICY.client_failures), T0 + timedelta(minutes=4))
    assert is_locked(_fail(20, POLICY.client_failures), T0 + timedelta(minutes=4))


def test_failures_count_within_fifteen_minutes_of_the_first():
    c = _fail(4, POLICY.code_failures)       # at T0 .. T0+30s
    # The fifth at 14:59.999 after the first still counts and locks.
    late = T0 + POLICY.window - timedelta(milliseconds=1)
    assert after_failure(c, 5, POLICY, late).locked_until is not None
    # At exactly 15 minutes a new window starts with this failure as its first.
    fresh = after_failure(c, 5, POLICY, T0 + POLICY.window)
    assert (fresh.failures, fresh.window_started_at, fresh.locked_until) == (1, T0 + POLICY.window, None)


def test_after_a_lock_the_count_starts_again():
    locked = _fail(5, 5)
    after = after_failure(locked, 5, POLICY, locked.locked_until)
    assert (after.failures, after.locked_until) == (1, None)


# ---- the status a party reads -----------------------------------------------------
CAL = load_calendar().with_weekend_fallback()
REG = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
ME, OTHER = "party-me", "party-other"


def _view(f: Facts, language: str = "zh", now: datetime = NOW):
    return describe(f, party_id=ME, masked_name="张**", now=now, language=language, calendar=CAL)


def test_a_registered_dispute_waits_for_a_mediator_and_names_nobody():
    v = _view(Facts(registered_at=REG, dispute_type="neighbours"))
    assert v.stage is Stage.WAITING_FOR_MEDIATOR
    assert v.headline == "正在为您的纠纷安排调解员" and v.to_do == ("目前您不需要做什么。",)
    assert (v.mediator_name, v.organization_id, v.your_name) == ("", "", "张**")
    assert v.registered_on == date(2026, 11, 2)
    en = _view(Facts(registered_at=REG, dispute_type="neighbours"), "en")
    assert en.headline == "A mediator is being found for your dispute" and en.language == "en"


def test_a_refusal_at_registration_says_there_is_no_mediation():
    v = _view(Facts(registered_at=REG, dispute_type="neighbours", refused=True))
    assert v.stage is Stage.MEDIATION_REFUSED and "第十七条" in v.explanation


def test_in_mediation_the_page_names_the_mediator_and_the_next_session():
    sessions = (Session("s1", 1, NOW - timedelta(days=3), "嘎查调解室", ""),
                Session("s3", 3, NOW + timedelta(days=9), "司法所", ""),
                Session("s2", 2, NOW + timedelta(days=2), "", "https://meet.example/abc"))
    f = Facts(registered_at=REG, dispute_type="neighbours", assigned_at=REG + timedelta(days=1),
              mediator_name="王调解", organization_id="org-committee", sessions=sessions)
    v = _view(f)
    assert v.stage is Stage.IN_MEDIATION and v.headline == "调解员王调解正在调解您的纠纷"
    assert (v.mediator_name, v.organization_id) == ("王调解", "org-committee")
    assert v.next_session is not None and v.next_session.session_id == "s2"
    assert v.to_do == ("请按时参加第2次调解：2026-11-22 10:00（北京时间），视频调解，链接：https://meet.example/abc。",)
    # Without a session ahead: the mediator will call.
    assert _view(Facts(**{**f.__dict__, "sessions": sessions[:1]})).to_do[0].startswith("调解员会与您联系")


def test_after_an_agreement_the_party_is_told_to_apply_jointly_within_thirty_days():
    effective = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
    f = Facts(registered_at=REG, dispute_type="neighbours", assigned_at=REG, mediator_name="王调解",
              agreement_effective_at=effective, agreement_effective_on=date(2026, 11, 16),
              terms=(Term(ME, OTHER, date(2026, 12, 10)), Term(OTHER, ME, date(2026, 12, 1)), Term(OTHER, ME, None)))
    v = _view(f)
    assert v.stage is Stage.AGREEMENT_EFFECTIVE
    # 30 days from 16 Nov (not counted): 16 Dec 2026, a Wednesday (CPL 2023 Art.85, Art.205).
    assert "2026-12-16" in v.to_do[1] and "共同" in v.to_do[1]
    assert [(d.last_day, d.for_you) for d in v.deadlines] == [
        (date(2026, 12, 1), False), (date(2026, 12, 10), True), (date(2026, 12, 16), True)]
    assert v.deadlines[2].source == "CPL 2023 Art.205; PML Art.33"
    # Day 30 still in time; day 31 the window is closed.
    assert "2026-12-16" in _view(f, now=datetime(2026, 12, 16, 15, 59, tzinfo=UTC)).to_do[1]
    late = _view(f, now=datetime(2026, 12, 16, 16, 0, tzinfo=UTC))   # 00:00 on 17 Dec, China time
    assert "已过" in late.to_do[1] and all(d.source.startswith("PML Art.29") for d in late.deadlines)


def test_later_facts_outrank_earlier_ones_whatever_order_they_came_in():
    base = dict(registered_at=REG, dispute_type="neighbours", assigned_at=REG)
    t = REG + timedelta(days=10)
    assert stage_of(Facts(**base, agreement_effective_at=t, filed_at=t)) is Stage.CONFIRMATION_FILED
    assert stage_of(Facts(**base, filed_at=t, application_refused_at=t + timedelta(hours=1))) \
        is Stage.CONFIRMATION_REFUSED
    assert stage_of(Facts(**base, filed_at=t + timedelta(days=1), application_refused_at=t)) \
        is Stage.CONFIRMATION_FILED   # applied again after a refusal
    assert stage_of(Facts(**base, accepted_at=t, application_refused_at=t + timedelta(days=1))) \
        is Stage.CONFIRMATION_ACCEPTED
    assert stage_of(Facts(**base, ruled_at=t, ruling_valid=True)) is Stage.RULED_VALID
    assert stage_of(Facts(**base, ruled_at=t)) is Stage.RULED_REJECTED
    assert stage_of(Facts(**base, ended_at=t)) is Stage.MEDIATION_ENDED
    assert stage_of(Facts(**base, ended_at=t, returned_at=t)) is Stage.RETURNED_TO_COURT


def test_a_valid_ruling_tells_of_enforcement_and_objection():
    f = Facts(registered_at=REG, dispute_type="neighbours", assigned_at=REG, mediator_name="王调解",
              ruled_at=NOW, ruling_valid=True, case_number="（2026）蒙0502民特12号",
              enforcement_by=date(2028, 12, 10))
    v = _view(f)
    assert v.headline == "人民法院已裁定调解协议有效（案号：（2026）蒙0502民特12号）"
    assert v.to_do[0].startswith("对方不履行的") and "十五日内" in v.to_do[1]
    assert [(d.last_day, d.for_you, d.source) for d in v.deadlines] == [(date(2028, 12, 10), True, "CPL 2023 Art.250")]


def test_a_returned_case_and_an_ended_one_tell_the_routes():
    returned = _view(Facts(registered_at=REG, dispute_type="x", returned_at=NOW, ended_at=NOW,
                           court_next_step=NextStep.REGISTER_IF_PARTY_INSISTS))
    assert returned.stage is Stage.RETURNED_TO_COURT and returned.to_do == ("如您坚持起诉，人民法院将依法登记立案。",)
    ended = _view(Facts(registered_at=REG, dispute_type="x", ended_at=NOW, routes_told=("仲裁", "诉讼")))
    assert ended.to_do == ("您可以通过以下途径解决纠纷：仲裁、诉讼。",)


def test_every_stage_has_its_texts_in_both_languages():
    base = dict(registered_at=REG, dispute_type="x", assigned_at=REG)
    t = NOW
    for facts in (Facts(registered_at=REG, dispute_type="x"), Facts(registered_at=REG, dispute_type="x", refused=True),
                  Facts(**base), Facts(**base, agreement_effective_at=t), Facts(**base, ended_at=t),
                  Facts(**base, returned_at=t), Facts(**base, filed_at=t, accept_by=date(2026, 11, 23)),
                  Facts(**base, accepted_at=t, decide_by=date(2026, 12, 5)),
                  Facts(**base, application_refused_at=t), Facts(**base, ruled_at=t, ruling_valid=True),
                  Facts(**base, ruled_at=t)):
        for language in ("zh", "en"):
            v = _view(facts, language)
            assert v.headline and v.explanation and v.to_do and "{" not in v.headline + "".join(v.to_do)
