"""The parties' public status page (一案一码, issue 11), a Starlette router the console
mounts at ``PREFIX``:

    from starlette.routing import Mount
    from services.console import party
    source = party.GrpcStatusSource(intake=lambda: channel(intake_address),
                                    personnel=lambda: channel(personnel_address),
                                    metadata=console_token.metadata)
    Mount(party.PREFIX, app=party.router(source, forwarded_hops=1))

No sign-in: a party types the case code from the receipt (the QR code opens the page
with it filled in) and the last four digits of their phone; intake decides, counts
failures and locks guessers. zh-CN first, English with ``?lang=en``."""

from services.console.party.pages import PREFIX, router
from services.console.party.source import GrpcStatusSource, Refused, StatusSource

__all__ = ["PREFIX", "GrpcStatusSource", "Refused", "StatusSource", "router"]
