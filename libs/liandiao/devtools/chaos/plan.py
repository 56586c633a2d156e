"""What a chaos run does, decided up front from the seed: the options and the fault
schedule (which faults, in which order, on which service, after which pause). The
same seed gives the same schedule; only the moments relative to the traffic vary
with the machine's speed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from enum import Enum

from liandiao.devtools.localrun import SERVICES

# Services with Kafka consumers: a pause past the session timeout means something to them.
CONSUMING = ("intake", "personnel", "routing", "mediation", "confirmation", "notification")


class Kind(Enum):
    KILL = "kill"            # SIGKILL, restarted after a short delay (what an orchestrator does)
    PAUSE = "pause"          # SIGSTOP past the consumers' session timeout, then SIGCONT
    BROKER = "broker"        # the Kafka broker's JVM stopped and started on the same data
    DATABASE = "database"    # pg_ctl restart -m fast
    POISON = "poison"        # malformed messages on every consumed topic


@dataclass(frozen=True)
class Fault:
    kind: Kind
    targets: tuple[str, ...] = ()   # the services, for KILL (killed together) and PAUSE (one)
    gap_seconds: float = 1.0        # quiet time after the previous fault recovered
    down_seconds: float = 0.5       # KILL: time before the restart; PAUSE: time stopped

    @property
    def label(self) -> str:
        return f"{self.kind.value} {'+'.join(self.targets)}".strip()


@dataclass(frozen=True)
class Options:
    count: int = 10_000
    seed: int = 2026
    kills_per_service: int = 3
    broker_restarts: int = 2
    # One of the broker restarts keeps it down this long: longer than the clients' request
    # timeout (aiokafka's 40 s), so sends in flight expire on the producer's side. 0: none.
    broker_outage_seconds: float = 0.0
    database_restarts: int = 2
    kill_together: int = 1              # services killed at the same moment in one KILL fault
    gaps: tuple[float, float] = (0.5, 3.0)   # seconds of calm after a recovery, drawn from this range
    pauses: int = 2
    pause_seconds: float = 12.0         # the consumers' session timeout is 10 s
    poison: bool = True
    prefectures: tuple[str, ...] = ("1505",)
    # 12, as the demo's province: with fewer, routing leaves more disputes unplaced (only
    # mediators covering the dispute's township or county qualify).
    mediators_per_county: int = 12
    decline_share: float = 0.05         # mediators who decline their first offer, with a reason
    # Disputes the driver takes on past the mediator's acceptance (casework): a session, an
    # agreement or a termination, the joint application, the court's acceptance and ruling.
    casework_share: float = 1.0
    # Registrations per second; 0 spreads them over the fault schedule (so that every
    # fault meets traffic), a negative value sends them as fast as the counters can.
    rate: float = 0.0
    counters: int = 8                   # registrations in flight at once
    # The counters hold back while more disputes than this wait for their mediator (or
    # four times as many deliveries wait to go out): a backlog, not a fault, would
    # otherwise be what the recovery times measure on a small machine.
    max_waiting: int = 300
    recover_timeout: float = 60.0       # a fault not recovered by then is reported as such
    quiesce_timeout: float = 150.0      # > notification's 60 s delivery lease after a kill
    services: tuple[str, ...] = SERVICES
    keep_stack: bool = False
    faults: tuple[Fault, ...] = field(default=())

    @classmethod
    def short(cls, **overrides: object) -> Options:
        """The form inside `make test`: every service killed once, intake and routing
        (the busiest hops) twice, three at a time (a restart costs ~10 s on two shared
        cores, most of it the interpreter loading its libraries); one broker restart,
        one database restart, one pause; short gaps. Half the disputes go on past the
        mediator's acceptance (every end of the back half is still drawn several times)."""
        base = cls(count=150, kills_per_service=1, kill_together=3, broker_restarts=1, database_restarts=1,
                   pauses=1, pause_seconds=11.0, gaps=(0.3, 1.0), recover_timeout=45.0, quiesce_timeout=100.0,
                   casework_share=0.5)
        return replace(base, **overrides)  # type: ignore[arg-type]


def make_plan(options: Options) -> tuple[Fault, ...]:
    """The faults in the order they will be injected: every kind shuffled together,
    poison once in the first half, each with a seeded gap and down time."""
    if options.faults:
        return options.faults
    rng = random.Random(options.seed)
    rounds = [list(options.services) for _ in range(options.kills_per_service)]
    if options.kills_per_service == 1:
        rounds.append([s for s in ("intake", "routing") if s in options.services])
    faults = []
    for victims in rounds:
        rng.shuffle(victims)
        step = max(options.kill_together, 1)
        faults += [Fault(Kind.KILL, tuple(victims[i:i + step])) for i in range(0, len(victims), step)]
    faults += [Fault(Kind.BROKER, down_seconds=options.broker_outage_seconds if n == 0 else 0.0)
               for n in range(options.broker_restarts)]
    faults += [Fault(Kind.DATABASE) for _ in range(options.database_restarts)]
    faults += [Fault(Kind.PAUSE, (rng.choice([s for s in CONSUMING if s in options.services]),),
                     down_seconds=options.pause_seconds) for _ in range(options.pauses)]
    rng.shuffle(faults)
    if options.poison:
        faults.insert(rng.randrange(0, max(len(faults) // 2, 1)), Fault(Kind.POISON))
    out = []
    for f in faults:
        if f.kind is Kind.KILL:
            down = round(rng.uniform(0.1, 1.5), 2)
        else:
            down = f.down_seconds
        out.append(replace(f, gap_seconds=round(rng.uniform(*options.gaps), 2), down_seconds=down))
    return tuple(out)


# What one fault of each kind takes, until the flow works again, as measured on 2 shared
# cores: used to spread the registrations over the schedule (rate 0). A killed service
# needs ~10 s, most of it its interpreter importing grpc, protobuf, OpenTelemetry,
# FastStream and asyncpg again.
EXPECTED_SECONDS = {Kind.KILL: 11.0, Kind.PAUSE: 3.0, Kind.BROKER: 14.0, Kind.DATABASE: 4.0, Kind.POISON: 2.0}


def expected_seconds(fault: Fault) -> float:
    pause = fault.down_seconds if fault.kind in (Kind.PAUSE, Kind.BROKER) else 0.0
    return EXPECTED_SECONDS[fault.kind] + pause + fault.gap_seconds
