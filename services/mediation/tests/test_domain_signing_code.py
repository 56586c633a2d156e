"""The one-time code of an online e-signature at its pinned boundaries: 6 digits, good for
10 minutes (9:59 accepted, 10:00 refused), 5 wrong entries spend it, good once, for one text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from liandiao.errors import InvalidInput
from services.mediation.domain import signing_code as sc

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
DIGEST = "ab" * 32


def _issued(code: str = "042917") -> sc.Challenge:
    return sc.issue("c-1", "agr-1", "p-a", DIGEST, code, NOW)


def test_the_pinned_numbers():
    assert (sc.CODE_DIGITS, sc.VALID_MINUTES, sc.MAX_ATTEMPTS) == (6, 10, 5)


@pytest.mark.parametrize("number, code", [(0, "000000"), (42917, "042917"), (999_999, "999999")])
def test_a_code_is_six_digits_with_its_zeros(number, code):
    assert sc.make_code(number) == code


@pytest.mark.parametrize("number", [-1, 1_000_000])
def test_a_code_outside_six_digits_is_refused(number):
    with pytest.raises(ValueError):
        sc.make_code(number)


def test_only_a_salted_hash_is_kept():
    c = _issued()
    assert "042917" not in c.code_hash and c.code_hash == sc.code_hash("c-1", "042917")
    assert sc.code_hash("c-2", "042917") != c.code_hash


@pytest.mark.parametrize("after, good", [(timedelta(minutes=9, seconds=59), True), (timedelta(minutes=10), False)])
def test_good_for_ten_minutes(after, good):
    checked = sc.check_code(_issued(), "042917", DIGEST, NOW + after)
    assert (checked.error is None) is good
    if not good:
        assert isinstance(checked.error, sc.CodeRefused) and "expired" in str(checked.error)


def test_a_wrong_code_names_the_field_and_counts_an_attempt():
    checked = sc.check_code(_issued(), "111111", DIGEST, NOW)
    assert isinstance(checked.error, InvalidInput) and checked.error.violations[0].field == "one_time_code"
    assert checked.challenge.attempts == 1 and "4 attempt(s) left" in str(checked.error)


@pytest.mark.parametrize("wrong, good", [(4, True), (5, False)])
def test_five_wrong_entries_spend_the_code(wrong, good):
    c = _issued()
    for _ in range(wrong):
        c = sc.check_code(c, "111111", DIGEST, NOW).challenge
    checked = sc.check_code(c, "042917", DIGEST, NOW)
    assert (checked.error is None) is good
    if not good:
        assert "5 wrong entries" in str(checked.error)


def test_good_once():
    used = sc.check_code(_issued(), " 042917 ", DIGEST, NOW)
    assert used.error is None and used.challenge.used_at == NOW
    again = sc.check_code(used.challenge, "042917", DIGEST, NOW + timedelta(minutes=1))
    assert isinstance(again.error, sc.CodeRefused) and "already used" in str(again.error)


def test_a_code_for_another_text_is_refused_and_none_asked_for_is_none():
    assert "another version" in str(sc.check_code(_issued(), "042917", "cd" * 32, NOW).error)
    assert sc.check_code(None, "042917", DIGEST, NOW) is None
