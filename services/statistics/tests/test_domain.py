"""The statistics' pure rules at their boundaries: periods in China Standard Time, rates
with a zero denominator, year-on-year change, external counts partly reported, and the
formulas file refused with the entry at fault."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from liandiao.errors import InvalidInput
from services.statistics.domain import formulas as fm
from services.statistics.domain.measures import External, Measures
from services.statistics.domain.periods import CST, PeriodKind, parse_month, parse_period

SHIPPED = (Path(__file__).parents[1] / "formulas.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("text, start, end", [
    ("2026", datetime(2026, 1, 1, tzinfo=CST), datetime(2027, 1, 1, tzinfo=CST)),
    ("2026-Q1", datetime(2026, 1, 1, tzinfo=CST), datetime(2026, 4, 1, tzinfo=CST)),
    ("2026-Q4", datetime(2026, 10, 1, tzinfo=CST), datetime(2027, 1, 1, tzinfo=CST)),
    ("2026-02", datetime(2026, 2, 1, tzinfo=CST), datetime(2026, 3, 1, tzinfo=CST)),
    ("2026-12", datetime(2026, 12, 1, tzinfo=CST), datetime(2027, 1, 1, tzinfo=CST)),
])
def test_a_period_is_half_open_in_china_standard_time(text, start, end):
    p = parse_period(text)
    assert (p.start, p.end, str(p)) == (start, end, text)


def test_midnight_cst_belongs_to_the_new_month_and_the_evening_before_in_utc_to_it_too():
    july = parse_period("2026-07")
    # 30 June 16:00 UTC is 1 July 00:00 CST: July's, not June's.
    assert july.start == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)
    june = parse_period("2026-06")
    assert june.end == july.start


def test_previous_year_and_months():
    q = parse_period("2026-Q3")
    assert str(q.previous_year()) == "2025-Q3"
    assert [str(m) for m in q.months()] == ["2026-07", "2026-08", "2026-09"]
    assert len(parse_period("2024").months()) == 12 and parse_period("2024").kind is PeriodKind.YEAR


@pytest.mark.parametrize("text, reason", [
    ("", "required"), ("2026-13", "month must be 01..12"), ("2026-00", "month must be 01..12"),
    ("2026-Q5", "is not"), ("1999", "year must be"), ("2026-5", "is not"), ("26", "is not"),
])
def test_bad_periods_name_the_field(text, reason):
    with pytest.raises(InvalidInput) as bad:
        parse_period(text, "period")
    assert bad.value.violations[0].field == "period" and reason in bad.value.violations[0].reason


def test_external_figures_are_monthly():
    assert str(parse_month("2026-05", "f")) == "2026-05"
    with pytest.raises(InvalidInput, match="per month"):
        parse_month("2026-Q2", "figures[0].period")


def test_a_rate_with_no_denominator_has_no_value_rather_than_zero():
    assert fm.rate(0, 0).available is False
    assert fm.rate(3, 0).available is False
    assert fm.rate(0, 4) == fm.Value(True, 0.0, 0, 4)
    assert fm.rate(4, 4).value == 1.0


def test_year_on_year_change():
    assert fm.change(fm.Value(True, 12), fm.Value(True, 10)) == pytest.approx(0.2)
    assert fm.change(fm.Value(True, 12), fm.Value(True, 0)) is None        # from zero: no share
    assert fm.change(fm.Value(True, 12), fm.Value(False)) is None


def _def(key: str) -> fm.FigureDef:
    return next(f for f in fm.parse_formulas(SHIPPED).figures if f.key == key)


def test_the_shipped_board_is_three_up_three_down_with_formulas_from_the_definitions():
    f = fm.parse_formulas(SHIPPED)
    assert [d.key for d in f.board(fm.Goal.UP)] == ["mediation_success_rate", "litigation_mediation_rate",
                                                    "confirmation_rate"]
    assert [d.source for d in f.board(fm.Goal.DOWN)] == ["police", "court", "petition"]
    assert _def("mediation_success_rate").formula() == "本期调解成功件数（调解协议生效） ÷ 本期调结件数（协议生效或调解终止）"
    assert "÷" in _def("confirmation_rate").formula("en")


def test_evaluate_rates_durations_and_external_counts():
    m = Measures(counts={"successful": 3, "mediated": 4}, durations={"days_to_agreement_p90": None},
                 external={"police": External(total=7, months_reported=2, months_expected=3)})
    assert fm.evaluate(_def("mediation_success_rate"), m) == fm.Value(True, 0.75, 3, 4)
    assert fm.evaluate(_def("days_to_agreement_p90"), m).available is False
    partial = fm.evaluate(_def("police_cases"), m)
    assert (partial.available, partial.value, partial.note) == (False, 7.0, "2 of 3 months reported")
    whole = fm.evaluate(_def("police_cases"), Measures(external={"police": External(7, 3, 3)}))
    assert (whole.available, whole.value) == (True, 7.0)
    assert fm.evaluate(_def("petitions"), m).note == "not reported"


@pytest.mark.parametrize("text, message", [
    ("not toml = = 1", "not valid TOML"),
    ("", r"no \[\[figure\]\]"),
    ('[[figure]]\nkey = "x"\nlabel = "X"\nmeasure = "nothing"', "is not a measure"),
    ('[[figure]]\nkey = "x"\nlabel = "X"\nnumerator = "days_to_ruling_avg"\ndenominator = "mediated"', "made of counts"),
    ('[[figure]]\nkey = "x"\nlabel = "X"\nmeasure = "disputes"\nnumerator = "mediated"', "either measure"),
    ('[[figure]]\nkey = "x"\nlabel = "X"\nmeasure = "disputes"\ngoal = "sideways"', "goal must be"),
    ('[[figure]]\nkey = "x"\nlabel = ""\nmeasure = "disputes"', "label is required"),
    ('[[figure]]\nkey = "x"\nlabel = "X"\nmeasure = "disputes"\ncolour = "red"', "unknown setting"),
    ('[[figure]]\nkey = "x"\nlabel = "X"\nmeasure = "disputes"', "exactly 3 figures"),
    (SHIPPED + '\n[[figure]]\nkey = "disputes"\nlabel = "again"\nmeasure = "disputes"\n', "defined twice"),
])
def test_a_bad_formulas_file_is_refused_with_the_entry_named(text, message):
    with pytest.raises(fm.FormulaError, match=message):
        fm.parse_formulas(text)


def test_the_service_refuses_to_start_with_a_bad_formulas_file(tmp_path):
    from liandiao.config import SettingsError
    from services.statistics.main import load_config
    bad = tmp_path / "f.toml"
    bad.write_text('[[figure]]\nkey = "x"\nlabel = "X"\nmeasure = "nothing"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="LIANDIAO_STATISTICS_FORMULAS_FILE.*is not a measure"):
        load_config({"STATISTICS_FORMULAS_FILE": str(bad)})
    with pytest.raises(SettingsError, match="cannot read"):
        load_config({"STATISTICS_FORMULAS_FILE": str(tmp_path / "missing.toml")})
    assert len(load_config({}).formulas.figures) > 6
