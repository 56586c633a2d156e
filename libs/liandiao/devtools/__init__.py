"""Local tooling shared by the demo, the end-to-end tests and the benchmarks:
start the six services as processes, talk to them, collect their spans.
Not imported by any service."""
