# The failure tests share the end-to-end fixtures (services, world).
from tests.e2e.conftest import otlp, services, world  # noqa: F401
