"""The one error type the CLI turns into a clean, one-line exit."""


class EdgeError(Exception):
    """A problem the user can fix: the message names what, where, and how to fix it."""


def short_reason(exc: BaseException, limit: int = 160) -> str:
    """A library's error as one readable clause: its first line, cut at a word, never mid-word."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else type(exc).__name__
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " ..."


def did_you_mean(word: str, choices) -> str:
    """' (did you mean X?)' for a near miss such as efficentnet_lite0, else ''."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""
