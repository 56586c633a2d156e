"""The calling service's identity under mutual TLS: the common name of the client
certificate the server verified against LIANDIAO_TLS_CLIENT_CA_FILE.

    from liandiao.rpc.peer import service_identity
    name = service_identity(context)   # "routing", or None

None when the call did not come over mutual TLS (plain text, or TLS without client
certificates): the server did not ask, so no certificate was verified and none counts.
With mutual TLS every caller has a certificate; whether its name is a service that
may call the method is the access policy's decision (liandiao.access), not this one's."""

from __future__ import annotations

import grpc


def service_identity(context: grpc.aio.ServicerContext) -> str | None:
    props = context.auth_context() or {}
    if props.get("transport_security_type") != [b"ssl"]:
        return None
    names = props.get("x509_common_name") or []
    # Present only when the server asked for and verified a client certificate.
    return names[0].decode() if len(names) == 1 else None
