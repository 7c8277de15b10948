"""Typed errors: what a user can fix says what was expected, what was found, what to do."""


class ImpastoError(Exception):
    """Base class for errors a user can fix; the CLI prints them as one line."""


class ImageError(ImpastoError):
    """An image file could not be read or written."""


class PaintsNowhere(ImageError):
    """Masks that are black everywhere: a whole run would give back the photo (an inverted
    mask, most often), so they are refused before it; the web page words it as strokes."""


class WeightsError(ImpastoError):
    """Network weights are missing, corrupt, or in an unexpected layout."""


class ConfigError(ImpastoError):
    """An option has a value outside what it accepts."""


def first_line(exc: BaseException) -> str:
    """A short, single-line rendering of an exception, for a one-line error message."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
