"""Liandiao shared library: the one way each service starts, stores, publishes,
consumes, traces and validates. Generated protobuf stubs live beside it under
``liandiao/<service>/v1`` (made by ``make protos``, never committed)."""
