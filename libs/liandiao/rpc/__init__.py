"""gRPC edge: the server every service runs, its interceptor (identity,
metrics, domain errors to statuses) and client helpers."""
