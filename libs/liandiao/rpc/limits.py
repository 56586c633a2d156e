"""Message size limits shared by every server and client of the platform.

A request is held to 4 MiB (gRPC's own default receive limit, stated here so that
clients refuse an oversized request before sending it). A response may be four
times that: a command's answer is never cut off by size after its work is done,
because a server-side send failure is answered RESOURCE_EXHAUSTED before any
header left, which a client's retry policy would take for "not done" and run the
command again (tested in tests/integration/test_rpc_limits.py)."""

from __future__ import annotations

MIB = 1024 * 1024
MAX_REQUEST_BYTES = 4 * MIB
MAX_RESPONSE_BYTES = 16 * MIB
