"""Loads a realistic province into a running PersonnelService, over gRPC.

    python -m liandiao.devtools.seed --prefectures 1504,1505 --personnel 127.0.0.1:20062

For every county of the prefectures (from the shipped division codes): a basic
court and its people's tribunal, a judicial office and a police station with their
liaison officers, township mediation committees (and a sector committee), a law
firm and a legal-service office with valid credit codes, their lawyers and
legal-service workers on a duty rota, the mediators (some speaking Mongolian), and
the basic court's roster. Prints what it made and the rota's uncovered office-weeks.
Load it into an empty database (``make demo`` resets its own): a second run adds a
second set of offices."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from liandiao.auth import Role
from liandiao.devtools import province
from liandiao.devtools.clients import channel, token
from liandiao.ids import DivisionLevel, lookup
from liandiao.personnel.v1 import personnel_pb2, personnel_pb2_grpc


def _prefectures(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("name at least one prefecture, e.g. 1504,1505")
    for code in codes:
        division = lookup(code)
        if division is None or division.level is not DivisionLevel.PREFECTURE:
            raise argparse.ArgumentTypeError(f"{code} is not a prefecture code (4 digits, e.g. 1505 通辽市)")
    return codes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m liandiao.devtools.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefectures", type=_prefectures, required=True, help="comma-separated, e.g. 1504,1505")
    parser.add_argument("--personnel", default="127.0.0.1:20062", help="PersonnelService address (host:port)")
    parser.add_argument("--mediators-per-county", type=int, default=12)
    parser.add_argument("--townships-per-county", type=int, default=3)
    parser.add_argument("--rota-weeks", type=int, default=8, help="weeks of duty rota from this week on")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


async def _serving(channel: grpc.aio.Channel, address: str) -> str | None:
    """None when PersonnelService answers SERVING, else what is wrong."""
    try:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    except grpc.aio.AioRpcError as exc:
        return f"no PersonnelService at {address}: {exc.code().name}"
    if reply.status != health_pb2.HealthCheckResponse.SERVING:
        return f"PersonnelService at {address} is not SERVING yet"
    return None


async def run(args: argparse.Namespace) -> int:
    meta = token(Role.OPERATOR, subject="seed", region_scope=tuple(args.prefectures))
    async with channel(args.personnel) as chan:
        problem = await _serving(chan, args.personnel)
        if problem:
            print(f"seed: {problem}", file=sys.stderr)
            return 1
        stub = personnel_pb2_grpc.PersonnelServiceStub(chan)
        started = time.monotonic()
        try:
            prov = await province.seed_province(stub, meta, args.prefectures, seed=args.seed,
                                                mediators_per_county=args.mediators_per_county,
                                                townships_per_county=args.townships_per_county,
                                                rota_weeks=args.rota_weeks)
        except grpc.aio.AioRpcError as exc:
            print(f"seed: PersonnelService refused a call: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
        took = time.monotonic() - started
        report = {pref: await stub.DutyCoverageReport(personnel_pb2.DutyCoverageReportRequest(
            region_prefix=pref, from_week=prov.rota_weeks[0], to_week=prov.rota_weeks[-1]), metadata=meta)
            for pref in args.prefectures} if prov.rota_weeks else {}
    names = "、".join(f"{lookup(c).name}({c})" for c in args.prefectures)  # type: ignore[union-attr]
    committees = sum(len(c.committees) + bool(c.sector_committee) for c in prov.counties)
    print(f"seeded {names} in {took:.1f}s: {len(prov.counties)} counties; per county a basic court and tribunal, "
          f"judicial office, police station, law firm, legal-service office; {committees} mediation committees")
    print(f"  people: {len(prov.mediators)} mediators, {len(prov.lawyers)} lawyers and legal-service workers, "
          f"{len(prov.liaison_officers)} liaison officers")
    if report:
        checked = sum(r.offices_checked for r in report.values()) * len(prov.rota_weeks)
        gaps = sum(len(o.uncovered_weeks) for r in report.values() for o in r.offices)
        print(f"  duty rota {prov.rota_weeks[0]}..{prov.rota_weeks[-1]}: {checked - gaps} of {checked} "
              f"office-weeks covered; uncovered:")
        for r in report.values():
            for o in r.offices:
                print(f"    {o.name}: {', '.join(o.uncovered_weeks)}")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    raise SystemExit(asyncio.run(run(parse_args(argv))))


if __name__ == "__main__":
    main()
