"""The time limits of the platform, each with its source (see DOMAIN.md sections 3 to 5).

Start events (what starts each clock) are chosen by the caller; the notes below say which
event the rule names. Counting follows CPL 2023 Art.85 (see deadlines.py).
"""

from __future__ import annotations

from .periods import Period, Unit

# -- Assignment (DOMAIN.md §3) -----------------------------------------------------------------

# From the court's notice to the parties until they must have chosen a mediator together.
JOINT_CHOICE_OF_MEDIATOR = Period(
    "joint_choice_of_mediator", 2, Unit.WORKING_DAYS, "SPC-Online Art.10"
)
# From the application, when the parties did not choose.
COURT_APPOINTS_MEDIATOR = Period(
    "court_appoints_mediator", 3, Unit.WORKING_DAYS, "SPC-Online Art.10"
)
# From the assignment; silence past the last day means the case is reassigned.
MEDIATOR_ACCEPT_OR_DECLINE = Period(
    "mediator_accept_or_decline", 3, Unit.WORKING_DAYS, "SPC-Online Art.12"
)

# -- Mediation (DOMAIN.md §4); the clock starts when the mediator signs for the court's
#    materials or confirms acceptance on the platform. Extension only if all parties agree.

DELEGATED_PRE_FILING_MEDIATION = Period(
    "delegated_pre_filing_mediation",
    30,
    Unit.CALENDAR_DAYS,
    "SPC-Invited Art.27; SPC-Online Art.24",
)
COMMISSIONED_MEDIATION_ORDINARY = Period(
    "commissioned_mediation_ordinary",
    15,
    Unit.CALENDAR_DAYS,
    "SPC-Invited Art.27; SPC-Online Art.24",
)
COMMISSIONED_MEDIATION_SIMPLIFIED = Period(
    "commissioned_mediation_simplified",
    7,
    Unit.CALENDAR_DAYS,
    "SPC-Invited Art.27; SPC-Online Art.24",
)
# Practice, not statute: "about one month". Regions set their own length via .configured(n).
PEOPLES_MEDIATION = Period(
    "peoples_mediation",
    30,
    Unit.CALENDAR_DAYS,
    "practice, unconfirmed (DOMAIN.md §4: about one month)",
    configurable=True,
)
# From the first police mediation session. DOMAIN.md §4 gives the number without an article.
POLICE_MEDIATION_SECOND_SESSION = Period(
    "police_mediation_second_session",
    7,
    Unit.WORKING_DAYS,
    "DOMAIN.md §4 (police mediation)",
)

# -- Judicial confirmation (DOMAIN.md §5) -------------------------------------------------------

# Joint application, from the day the agreement takes effect: day 30 eligible, day 31 not.
# (The same 30 days in PML Art.33; CPL 2021 Art.201, renumbered 205 in 2023 when the four
# articles on appointing an estate administrator were inserted before it, Art.194-197.)
CONFIRMATION_APPLICATION = Period(
    "confirmation_application", 30, Unit.CALENDAR_DAYS, "CPL 2023 Art.205; PML Art.33"
)
# From receipt of the application: accept or refuse it.
CONFIRMATION_ACCEPTANCE = Period(
    "confirmation_acceptance", 3, Unit.CALENDAR_DAYS, "SPC-2011 Art.4"
)
# From acceptance: rule on the application.
CONFIRMATION_DECISION = Period(
    "confirmation_decision", 15, Unit.CALENDAR_DAYS, "SPC-2011 Art.5"
)
# From acceptance, when the court president approved the extra 10 days (15 + 10).
CONFIRMATION_DECISION_EXTENDED = Period(
    "confirmation_decision_extended",
    25,
    Unit.CALENDAR_DAYS,
    "SPC-2011 Art.5 (15 days + 10 with the court president's approval)",
)
# From 立案 (the court dockets the case: for a confirmation, its acceptance) the statutory
# ceiling for special-procedure cases: "应当在立案之日起三十日内…审结". The article keeps its 2021
# number in the 2023 text: the 2023 amendment inserted its new special-procedure articles
# (estate administrator, Art.194-197) after it, which is why Art.201/202 became 205/206.
# The president may extend it "in special circumstances"; SPC-2011 Art.5 allows +10 days only.
SPECIAL_PROCEDURE_CEILING = Period(
    "special_procedure_ceiling",
    30,
    Unit.CALENDAR_DAYS,
    "CPL 2023 Art.187",
)
# A party, from receipt of the confirmation ruling.
PARTY_OBJECTION_TO_CONFIRMATION = Period(
    "party_objection_to_confirmation", 15, Unit.CALENDAR_DAYS, "SPC-Interp Art.372"
)
# A third party (利害关系人), from when it knew or should have known of the harm to its rights.
THIRD_PARTY_OBJECTION_TO_CONFIRMATION = Period(
    "third_party_objection_to_confirmation", 6, Unit.MONTHS, "SPC-Interp Art.372"
)
# Applying for enforcement of a confirmed agreement: from the last day of the performance period
# the document sets (of the last instalment), or from its effect if it sets none (Art.250 para.2).
# CPL 2021 Art.246, renumbered 250 in 2023 (four articles inserted in the special procedure).
ENFORCEMENT_APPLICATION = Period(
    "enforcement_application", 2, Unit.YEARS, "CPL 2023 Art.250"
)

# -- Any period (DOMAIN.md §1a) -----------------------------------------------------------------

# A party who missed a period for force majeure or another proper reason: from the end of the
# obstacle, apply to have the period extended.
EXTENSION_APPLICATION = Period(
    "extension_application", 10, Unit.CALENDAR_DAYS, "CPL 2023 Art.86"
)

ALL_PERIODS: tuple[Period, ...] = (
    JOINT_CHOICE_OF_MEDIATOR,
    COURT_APPOINTS_MEDIATOR,
    MEDIATOR_ACCEPT_OR_DECLINE,
    DELEGATED_PRE_FILING_MEDIATION,
    COMMISSIONED_MEDIATION_ORDINARY,
    COMMISSIONED_MEDIATION_SIMPLIFIED,
    PEOPLES_MEDIATION,
    POLICE_MEDIATION_SECOND_SESSION,
    CONFIRMATION_APPLICATION,
    CONFIRMATION_ACCEPTANCE,
    CONFIRMATION_DECISION,
    CONFIRMATION_DECISION_EXTENDED,
    SPECIAL_PROCEDURE_CEILING,
    PARTY_OBJECTION_TO_CONFIRMATION,
    THIRD_PARTY_OBJECTION_TO_CONFIRMATION,
    ENFORCEMENT_APPLICATION,
    EXTENSION_APPLICATION,
)


def materials_supplement(days: int) -> Period:
    """The court's deadline to supplement missing confirmation materials (SPC-Interp Art.354,
    before acceptance) or statements and proofs (Art.356, during review): the court sets its
    length; missing it counts as withdrawing the application (Art.357)."""
    return Period(
        "materials_supplement",
        days,
        Unit.CALENDAR_DAYS,
        "set by the court (SPC-Interp Art.354, 356; missed: Art.357)",
    )
