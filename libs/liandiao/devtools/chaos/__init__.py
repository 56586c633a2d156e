"""`make chaos`: the platform on an operator's bad day, and the proof that it kept
every dispute.

The driver brings up a stack of its own (PostgreSQL and Kafka from scripts/stack.sh,
in .state/chaos, on ports of its own), the six services as processes, and a seeded
prefecture; registers disputes over gRPC as counter clients do (retrying with the
same request id), and plays the mediators, who accept their offers. Meanwhile it
injects faults one after another, at seeded moments: SIGKILL of every service
(several times each, restarted as an orchestrator would), Kafka broker restarts,
PostgreSQL restarts, a service paused (SIGSTOP) past its consumers' session timeout,
and malformed messages on every consumed topic. After each fault it measures how
long until the six are SERVING again and a dispute registered at the fault has gone
the whole way (case opened, deliveries sent).

Then it waits for quiescence and checks, from each service's own tables and from
the topics themselves, that nothing was lost, doubled, published without a commit
or applied twice; that the dead-letter topics hold the injected poison and nothing
else, and that the replay command drains them. It prints a table; the exit code is
1 when an invariant is broken.

    python -m liandiao.devtools.chaos --count 10000 --seed 2026   (make chaos)

Modules: ``plan`` (the seeded fault schedule), ``stack`` (the chaos stack), ``workload``
(clients and mediators), ``faults`` (injection, recovery), ``poison`` (malformed
messages), ``checks`` (invariants), ``report`` (the table), ``run`` (the sequence)."""
