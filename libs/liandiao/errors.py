"""Domain errors as values: raised by rules and use cases, turned into gRPC
statuses only at the edge (liandiao.rpc.errors). No grpc import here."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class FieldViolation:
    field: str   # path in the request, e.g. "parties[1].id_document.number"
    reason: str  # what is wrong, in words a clerk understands


class DomainError(Exception):
    """Base of the errors a use case may raise on purpose."""


def shown(value: str, limit: int = 40) -> str:
    """A value quoted back in an error message, cut to ``limit`` characters: an error
    never grows with the input that caused it."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value)} characters)"


class InvalidInput(DomainError):
    """Bad input: nothing was stored. Maps to INVALID_ARGUMENT + BadRequest."""

    SUMMARISED = 5   # violations spelled out in the message; the BadRequest has them all

    def __init__(self, violations: list[FieldViolation] | FieldViolation):
        self.violations = [violations] if isinstance(violations, FieldViolation) else violations
        text = "; ".join(f"{v.field}: {v.reason}" for v in self.violations[:self.SUMMARISED])
        more = len(self.violations) - self.SUMMARISED
        super().__init__(text + (f" (and {more} more)" if more > 0 else ""))


class NotFound(DomainError):
    """Maps to NOT_FOUND."""


class RuleViolation(DomainError):
    """A rule forbids the action. Maps to FAILED_PRECONDITION with the rule named."""

    def __init__(self, rule: str, message: str):
        self.rule = rule
        super().__init__(f"{message} ({rule})")


class PermissionDenied(DomainError):
    """The caller's organization, role or region does not allow this."""


class Exhausted(DomainError):
    """Too many attempts: refused until ``retry_after_seconds`` have passed, whatever
    is asked (e.g. a guessed case code). Maps to RESOURCE_EXHAUSTED with RetryInfo."""

    def __init__(self, message: str, retry_after_seconds: int):
        self.retry_after_seconds = retry_after_seconds
        super().__init__(message)


class Unavailable(DomainError):
    """Not ready to answer yet (starting, or a dependency is down). Maps to UNAVAILABLE."""


def parse_uuid(field: str, value: str) -> UUID:
    """An id from a request, or InvalidInput naming the field."""
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput(FieldViolation(field, "is not a UUID" if value else "required")) from None
