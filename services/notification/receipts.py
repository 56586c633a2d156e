"""The SMS provider's callback endpoint: ``POST /sms/receipts`` over plain HTTP/1.1 (h11,
one request per connection), authenticated by the provider's HMAC signature
(``X-Sms-Timestamp``, ``X-Sms-Signature``; the secret is LIANDIAO_SMS_RECEIPT_SECRET).
Answers: 200 applied (repeats included), 401 bad or stale signature, 400 malformed (the
field named), 409 a receipt overtook the record of its send (the provider calls again),
404/405 anything else. Nothing of a receipt is logged but counts."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import h11

from services.notification.domain import receipts as rules

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024
PATH = "/sms/receipts"
Apply = Callable[[list[rules.Receipt]], Awaitable[int]]


class ReceiptEndpoint:
    def __init__(self, secret: bytes, delivered_codes: frozenset[str], apply: Apply):
        self.secret, self.delivered_codes, self.apply = secret, delivered_codes, apply

    async def answer(self, method: bytes, target: bytes, headers: dict[bytes, bytes],
                     body: bytes) -> tuple[int, dict]:
        if target.split(b"?", 1)[0] != PATH.encode():
            return 404, {"code": "NOT_FOUND"}
        if method != b"POST":
            return 405, {"code": "METHOD_NOT_ALLOWED"}
        stamp = headers.get(b"x-sms-timestamp", b"").decode("latin-1")
        signature = headers.get(b"x-sms-signature", b"").decode("latin-1")
        if not rules.verify(self.secret, stamp, body, signature, datetime.now(UTC)):
            return 401, {"code": "BAD_SIGNATURE"}
        try:
            parsed = rules.parse(body, self.delivered_codes)
        except rules.BadReceipt as exc:
            return 400, {"code": "BAD_REQUEST", "field": str(exc)}
        try:
            applied = await self.apply(parsed)
        except rules.NotYet:
            return 409, {"code": "TRY_LATER"}
        return 200, {"code": "OK", "applied": applied}

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=16 * 1024)
        try:
            status, reply = await asyncio.wait_for(self._read_and_answer(conn, reader), timeout=15)
        except h11.RemoteProtocolError:
            status, reply = 400, {"code": "BAD_REQUEST"}
        except (TimeoutError, ConnectionError):
            writer.close()
            return
        except Exception:
            log.exception("SMS receipts could not be applied")
            status, reply = 503, {"code": "TRY_LATER"}
        data = json.dumps(reply).encode()
        try:
            writer.write(conn.send(h11.Response(status_code=status, headers=[
                ("content-type", "application/json"), ("content-length", str(len(data))), ("connection", "close")])))
            writer.write(conn.send(h11.Data(data=data)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
        except (h11.LocalProtocolError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _read_and_answer(self, conn: h11.Connection, reader: asyncio.StreamReader) -> tuple[int, dict]:
        request: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY:
                    return 413, {"code": "TOO_LARGE"}
            elif isinstance(event, h11.EndOfMessage) and request is not None:
                headers = {k.lower(): v for k, v in request.headers}
                return await self.answer(request.method, request.target, headers, bytes(body))
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("closed before the request ended")

    async def serve(self, host: str, port: int, stopping: asyncio.Event) -> None:
        server = await asyncio.start_server(self._connection, host, port)
        log.info("SMS receipts endpoint listening", extra={"host": host, "port": port, "path": PATH})
        async with server:
            await stopping.wait()
