"""Mediation rules: which statutory period a case runs on, and when it ends.

SPC-Invited Art.27 / SPC-Online Art.24: a court-delegated pre-filing mediation
(委派) has 30 days; a commissioned post-filing one (委托) 15 days under the
ordinary procedure and 7 under the simplified. The clock starts when the mediator
confirms acceptance on the platform. People's mediation on its own (including
police referrals) runs about one month: practice, configurable."""

from __future__ import annotations

from datetime import datetime

from liandiao.legaltime import Deadline, HolidayCalendar, Period, deadline, statutory


def mediation_period(source: str, court_procedure: str, peoples_mediation_days: int | None = None) -> Period:
    if source == "court_delegation":
        return statutory.DELEGATED_PRE_FILING_MEDIATION
    if source == "court_commission":
        if court_procedure == "simplified":
            return statutory.COMMISSIONED_MEDIATION_SIMPLIFIED
        return statutory.COMMISSIONED_MEDIATION_ORDINARY
    period = statutory.PEOPLES_MEDIATION
    return period.configured(peoples_mediation_days) if peoples_mediation_days else period


def case_deadline(accepted_at: datetime, source: str, court_procedure: str, calendar: HolidayCalendar,
                  peoples_mediation_days: int | None = None) -> Deadline:
    return deadline(accepted_at, mediation_period(source, court_procedure, peoples_mediation_days), calendar)
