"""Exception classes. Every error geocrime raises on purpose is a :class:`GeocrimeError`.

Messages say what was wrong and what to do about it.
"""
from __future__ import annotations


class GeocrimeError(Exception):
    """Base class of every error geocrime raises deliberately."""


class InputError(GeocrimeError, ValueError):
    """The caller's data is unusable as given (wrong type, empty where not allowed...)."""


class MissingColumnsError(InputError, KeyError):
    """A required column is absent from a DataFrame.

    ``MissingColumnsError(["a", "b"], available, what)`` builds the message from the names;
    ``MissingColumnsError("message")`` uses the message as given.
    """

    def __init__(self, missing: list[str] | str, available: list[str] | None = None, what: str = "input"):
        if isinstance(missing, str):  # a complete message (several call sites pass one)
            self.missing, self.available = [], list(available) if available is not None else None
            super().__init__(missing)
            return
        self.missing = list(missing)
        self.available = list(available) if available is not None else None
        msg = f"{what} is missing required column(s): {', '.join(map(repr, self.missing))}"
        if self.available is not None:
            shown = ", ".join(map(repr, self.available[:30]))
            msg += f"; columns present: {shown}"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.args[0]


class CRSError(GeocrimeError, ValueError):
    """A coordinate reference system is missing, unknown or inconsistent with the coordinates."""


class GeometryError(GeocrimeError, ValueError):
    """Geometries are of the wrong type, empty, or cannot be repaired."""


class BoundaryError(GeocrimeError, ValueError):
    """A boundary layer is unusable (overlaps, wrong geometry types, unknown layer name...)."""


class DataNotFoundError(GeocrimeError, FileNotFoundError):
    """A data file is neither in the local data directory nor downloadable."""


class DataIntegrityError(GeocrimeError):
    """A file's SHA-256 does not match the registry."""


class FileFormatError(GeocrimeError, ValueError):
    """A file cannot be read as the format it claims (encoding, delimiter, schema...)."""


class AddressError(GeocrimeError, ValueError):
    """An address string cannot be processed (wrong type, too long for the backend...)."""


class BackendUnavailableError(GeocrimeError, RuntimeError):
    """An optional backend (libpostal model, dask...) is not installed; the message says how."""


class GazetteerError(GeocrimeError, ValueError):
    """A gazetteer cannot be built or loaded."""


class PublishError(GeocrimeError, ValueError):
    """Data offered to a public output has not passed, or cannot pass, the publish gate."""


class AnalysisError(GeocrimeError, ValueError):
    """An analysis cannot run on the data given (no events, unknown area codes, ...)."""


# ------------------------------------------------------------------------------------------ warnings
# Every warning class geocrime issues lives here, beside the errors (the modules that issue them
# re-export them under their old names).


class GeocrimeWarning(UserWarning):
    """Base class of every warning geocrime issues deliberately."""


class BoundaryWarning(GeocrimeWarning):
    """A boundary layer was loaded but something about it deserves attention (overlaps, repairs)."""


class EncodingWarning(GeocrimeWarning):  # noqa: A001 (shadows the builtin of the same name on purpose: old name kept)
    """A file was not valid UTF-8 and was decoded as Windows-1252 instead."""


class AnalysisWarning(GeocrimeWarning):
    """An analysis ran, but its result needs care (islands, too few events, raw counts, dropped rows).

    Filter with ``warnings.simplefilter("error", AnalysisWarning)`` to make these fatal."""


class PublishWarning(GeocrimeWarning):
    """The publish gate published less than it was given for a reason the caller can fix."""


__all__ = [name for name in dir() if name.endswith(("Error", "Warning")) and not name.startswith("_")]
