"""Errors the use cases raise for the interfaces to turn into exit codes and HTTP statuses."""


class NotFoundError(LookupError):
    """Something named by the user (a pool, a grant, an import) does not exist."""
