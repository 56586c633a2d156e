"""The court and police systems' HTTP adapter (issue 10): police referrals (PML Art.18) and
court delegations (委派, before filing) and commissions (委托, after filing; SPC-Invited
Art.27) sent in by those systems as JSON, checked against docs/api/external-systems.yaml,
authenticated per system (HMAC signature, replay-protected in PostgreSQL so it holds across
replicas), and registered with intake's RegisterDispute over gRPC under the service identity
``external-systems``, with all of intake's validation. A component of intake, run as its own
process and Deployment from intake's image (docs/decisions.md "Court and police systems").

    systems.py   the calling systems, from LIANDIAO_EXTERNAL_SYSTEMS_FILE (checked at start)
    mapping.py   JSON body <-> RegisterDisputeRequest; intake's field paths -> JSON pointers
    replay.py    signatures seen within the window (PostgreSQL, schema external_systems)
    http.py      the Starlette app: authenticate, validate, register, answer
    main.py      settings and wiring; ``python -m services.intake.external [serve|migrate]``
"""
