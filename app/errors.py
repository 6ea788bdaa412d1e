"""Domain errors raised by services; one exception handler maps them to JSON."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, "" when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    status_code = 400


class UnprocessableInput(DomainError):
    status_code = 422


class NotFound(DomainError):
    status_code = 404


class PayloadTooLarge(DomainError):
    status_code = 413


class Unauthorized(DomainError):
    status_code = 401


class EngineUnavailable(DomainError):
    status_code = 503


class ServiceUnavailable(DomainError):
    """A server the request needs (the cluster's Redis, its bucket, a live worker) cannot be used now."""

    status_code = 503


class Busy(DomainError):
    """No slot free and the waiting room is full: the client should retry after `retry_after` seconds."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
