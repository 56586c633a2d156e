"""Judicial confirmation (司法确认), the pure domain: no I/O, no asyncpg, no grpc.

- model.py          the agreement as confirmation keeps it (parties, terms and what each asks),
                    courts (level, region, tribunal -> basic court), the applicants
- eligibility.py    joint application within 30 days (CPL 2023 Art.205, Art.85)
- jurisdiction.py   competent courts (CPL 2023 Art.205, SPC-Interp Art.352)
- materials.py      the checklist and the supplement deadline (SPC-Interp Art.354, 356, 357)
- admissibility.py  proposed from the terms, the judge's override recorded (SPC-Interp Art.355)
- states.py         the state machine: one Enum, one transition table
- application.py    the aggregate and evolve(state, event)
- clock.py          3 days to accept, 15 (+10) to rule, the Art.187 ceiling, reminders, overdue
- numbering.py      case numbers （2026）蒙0502民特123号 / 诉前调确
- ruling.py         outcomes and grounds (CPL 2023 Art.206, SPC-Interp Art.358), the canonical
                    ruling document, the signer/verifier shape
- remedies.py       objection windows (SPC-Interp Art.372), enforcement (CPL 2023 Art.250)
- signals.py        false-mediation signals for the judge, never a decision
- commands.py, events.py, errors.py, rules.py (the decide_* functions)
"""
