"""python -m liandiao.devtools.chaos --count N --seed S (see the package docstring)."""

from __future__ import annotations

import argparse
import asyncio

from liandiao.devtools.chaos.plan import Options
from liandiao.devtools.chaos.run import run, write


def main() -> None:
    d = Options()
    parser = argparse.ArgumentParser(prog="python -m liandiao.devtools.chaos",
                                     description="Disputes through the platform while it is killed, paused and "
                                                 "cut off from its database and broker; then the invariants.")
    parser.add_argument("--count", type=int, default=d.count, help=f"disputes to register (default {d.count})")
    parser.add_argument("--seed", type=int, default=d.seed, help="the fault schedule and the disputes")
    parser.add_argument("--kills", type=int, default=d.kills_per_service, help="SIGKILLs per service")
    parser.add_argument("--broker-restarts", type=int, default=d.broker_restarts)
    parser.add_argument("--broker-outage", type=float, default=d.broker_outage_seconds,
                        help="seconds the first broker restart keeps it down (past the clients' 40 s timeout)")
    parser.add_argument("--database-restarts", type=int, default=d.database_restarts)
    parser.add_argument("--pauses", type=int, default=d.pauses, help="SIGSTOPs past the consumer session timeout")
    parser.add_argument("--pause-seconds", type=float, default=d.pause_seconds)
    parser.add_argument("--rate", type=float, default=d.rate,
                        help="registrations per second; 0 (default) spreads them over the faults, -1 = flat out")
    parser.add_argument("--no-poison", action="store_true", help="inject no malformed messages")
    parser.add_argument("--short", action="store_true", help="the form inside make test (overrides the counts)")
    parser.add_argument("--keep-stack", action="store_true", help="leave the chaos PostgreSQL and Kafka running")
    args = parser.parse_args()
    if args.short:
        options = Options.short(seed=args.seed, keep_stack=args.keep_stack, poison=not args.no_poison)
    else:
        options = Options(count=args.count, seed=args.seed, kills_per_service=args.kills,
                          broker_restarts=args.broker_restarts, broker_outage_seconds=args.broker_outage,
                          database_restarts=args.database_restarts,
                          pauses=args.pauses, pause_seconds=args.pause_seconds, rate=args.rate,
                          poison=not args.no_poison, keep_stack=args.keep_stack)
    report = asyncio.run(run(options))
    print(report.table())
    if report.log_dir:
        write(report, report.log_dir.parent / "report.json")
        print(f"  (also as JSON: {report.log_dir.parent / 'report.json'})")
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
