"""Errors that services raise and the API maps to HTTP answers."""


class NotFound(Exception):
    """The thing does not exist or belongs to someone else (both answer 404)."""


class Conflict(Exception):
    """The request clashes with existing state (409)."""


class InvalidInput(Exception):
    """The request is well-formed but cannot be done as asked (400/422-like, answered as 400)."""


class Unauthorized(Exception):
    """Bad credentials or no valid session/token (401)."""


class TooLarge(Exception):
    """More data than a limit allows (413); the message names the limit."""


class Forbidden(Exception):
    """Not allowed for anyone on this server as it is configured (403)."""


class TooManyRequests(Exception):
    """Too many attempts in a short time (429); ``retry_after`` seconds until the next one may pass."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
