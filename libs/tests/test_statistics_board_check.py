"""The demo's check of the statistics board against the services' own counts: a figure
that differs is named with both numbers; the printed board shows formulas and last year."""

from __future__ import annotations

from liandiao.devtools import board
from liandiao.statistics.v1 import statistics_pb2 as pb


def _board(**values: float) -> pb.Board:
    return pb.Board(region_code="15", region_name="内蒙古自治区", period="2026", previous_period="2025", figures=[
        pb.Figure(key=k, label=k, kind=pb.FIGURE_KIND_COUNT, formula=f"count of {k}",
                  current=pb.FigureValue(available=True, value=v), previous_year=pb.FigureValue(available=True))
        for k, v in values.items()])


def test_a_figure_that_differs_from_the_direct_count_is_named():
    shown = _board(disputes=12, successful=5)
    assert board.mismatches(shown, {"disputes": 12, "successful": 5}) == []
    assert board.mismatches(shown, {"disputes": 13, "successful": 5}) == ["disputes: board 12, direct count 13"]
    assert board.mismatches(shown, {"warnings": 0}) == ["warnings: board None, direct count 0"]


def test_the_printed_board_marks_each_checked_figure():
    lines = board.render(_board(disputes=12, successful=5), {"disputes": 12, "successful": 4})
    text = "\n".join(lines)
    assert "disputes: 12  [last year 0]  ✓ direct count" in text
    assert "successful: 5  [last year 0]  ✗ direct 4" in text
    assert "= count of disputes" in text
