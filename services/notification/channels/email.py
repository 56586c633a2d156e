"""E-mail over SMTP (STARTTLS when configured), e.g. to a mediator or a court clerk."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from services.notification.channels import ChannelError, Outgoing
from services.notification.domain.states import Step


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "noreply@liandiao.local"
    username: str = ""
    password: str = ""
    starttls: bool = False
    ca_file: str = ""                 # trust this CA for STARTTLS (a private relay)
    timeout_seconds: float = 10.0


SUBJECTS = {"zh-CN": "联调平台通知", "en": "Liandiao notice", "mn-Mong": "ᠯᠢᠶᠠᠨᠳᠢᠶᠣᠤ"}


class EmailChannel:
    name = "email"

    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    async def send(self, message: Outgoing) -> Step | None:
        s = self.settings
        mail = EmailMessage()
        mail["From"], mail["To"] = s.sender, message.address
        mail["Subject"] = SUBJECTS.get(message.locale, SUBJECTS["zh-CN"])
        mail["Message-ID"] = f"<{message.idempotency_key}@liandiao>"   # the same on every attempt
        mail.set_content(message.body)
        tls = ssl.create_default_context(cafile=s.ca_file or None) if s.starttls else None
        try:
            await aiosmtplib.send(mail, hostname=s.host, port=s.port, username=s.username or None,
                                  password=s.password or None, start_tls=s.starttls, use_tls=False,
                                  tls_context=tls, timeout=s.timeout_seconds)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ChannelError("SMTP server refused the recipient", permanent=True) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise ChannelError(f"SMTP {exc.code}", permanent=500 <= exc.code < 600) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP unreachable: {type(exc).__name__}") from None
        return Step.ACCEPTED
