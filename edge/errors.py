"""The one error type the CLI turns into a clean, one-line exit."""


class EdgeError(Exception):
    """A problem the user can fix: the message names what, where, and how to fix it."""
