"""A local SMTP server (aiosmtpd, on a thread of its own) that keeps what it receives:
the end-to-end tests and ``make demo`` point notification's e-mail channel at it and
read what each recipient got.

    with Mailbox() as box: ... box.port ... box.mails
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    body: str
    message_id: str


class _Keep:
    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        part = parsed.get_body(preferencelist=("plain",)) if parsed.is_multipart() else parsed
        body = part.get_content() if part is not None else ""
        with self.lock:
            self.mails.append(Mail(tuple(envelope.rcpt_tos), str(parsed.get("Subject", "")), body.strip(),
                                   str(parsed.get("Message-ID", ""))))
        return "250 OK"


class Mailbox:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        if not port:   # aiosmtpd's controller probes its port itself: it needs a real one
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.host, self.port = host, port
        self._keep = _Keep()
        self._controller = Controller(self._keep, hostname=host, port=port)

    @property
    def mails(self) -> list[Mail]:
        with self._keep.lock:
            return list(self._keep.mails)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.to]

    def __enter__(self) -> Mailbox:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
