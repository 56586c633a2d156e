"""Dates as the console shows them: China time, the day named from the official calendar."""

from datetime import UTC, datetime

from liandiao.common.v1 import common_pb2
from services.console import present


def test_an_instant_reads_in_china_time_with_its_weekday_and_kind_of_day():
    # 2026-09-30 18:30 UTC is 1 October 02:30 in China: National Day, a statutory holiday.
    assert present.cst_parts(datetime(2026, 9, 30, 18, 30, tzinfo=UTC)) == ("2026-10-01 02:30", "周四", "国庆节")
    assert present.date_parts("2026-10-10") == ("2026-10-10", "周六", "调休工作日")   # a make-up working day
    assert present.date_parts("2026-12-05")[2] == "休息日"
    assert present.cst_parts(None) is None


def test_working_days_left_skip_the_holiday_and_count_late_days_negative():
    now = datetime(2026, 9, 29, 2, tzinfo=UTC)          # Tuesday 29 September, China
    # Wednesday 30 Sep is a working day, 1-7 October are not, Thursday 8 is: two working days.
    assert present.working_days_left(common_pb2.Deadline(last_day="2026-10-08"), now) == 2
    assert present.working_days_left(common_pb2.Deadline(last_day="2026-09-29"), now) == 0
    assert present.working_days_left(common_pb2.Deadline(last_day="2026-09-25"), now) == -2
    assert present.working_days_left(common_pb2.Deadline(), now) is None
