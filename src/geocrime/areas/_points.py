"""Former home of the geocoder's point-in-polygon helper; kept so old imports still work.

Use :func:`geocrime.areas.point_codes` (one point-in-polygon path: :meth:`geocrime.areas.Boundaries.lookup`).
"""
from __future__ import annotations

from ._assign import point_codes

__all__ = ["point_codes"]
