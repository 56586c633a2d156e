"""Legal time for Liandiao: the official holiday calendar, named legal periods, deadlines.

Pure Python. The only I/O is reading the calendar data (load_calendar). See deadlines.py for
the counting rules (CPL 2023 Art.85) and data/README.md for the calendar file.
"""

from .calendar import (
    HolidayCalendar,
    YearSchedule,
    clear_calendar_cache,
    load_calendar,
    parse_calendar,
    shipped_calendar,
)
from .chinatime import CHINA_TZ, start_of_china_day, to_china_date
from .deadlines import (
    Deadline,
    add_months,
    deadline,
    is_expired,
    nominal_last_day,
    nth_working_day_after,
    roll_forward,
    working_days_between,
)
from .errors import (
    CALENDAR_FILE_ENV,
    CalendarDataError,
    CalendarNotLoaded,
    LegalTimeError,
    NaiveDatetime,
    NotConfigurable,
)
from .periods import Period, Unit

__all__ = [
    "CALENDAR_FILE_ENV",
    "CHINA_TZ",
    "CalendarDataError",
    "CalendarNotLoaded",
    "Deadline",
    "HolidayCalendar",
    "LegalTimeError",
    "NaiveDatetime",
    "NotConfigurable",
    "Period",
    "Unit",
    "YearSchedule",
    "add_months",
    "clear_calendar_cache",
    "deadline",
    "is_expired",
    "load_calendar",
    "nominal_last_day",
    "nth_working_day_after",
    "parse_calendar",
    "roll_forward",
    "shipped_calendar",
    "start_of_china_day",
    "to_china_date",
    "working_days_between",
]
