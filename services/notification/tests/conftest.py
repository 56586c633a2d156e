from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture(autouse=True)
def _clock_of_this_test(request):
    """Deliveries are due from their creation on the database clock: a module's NOW taken when
    it was imported lies behind that clock once a whole suite has run for a few minutes (the
    sending tests found nothing due). Modules that say CLOCK_PER_TEST get a NOW of their own
    test's start."""
    if getattr(request.module, "CLOCK_PER_TEST", False):
        request.module.NOW = datetime.now(UTC) + timedelta(minutes=1)
