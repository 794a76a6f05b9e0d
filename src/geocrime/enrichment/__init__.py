"""Enrichment: geocode + areas + placeholder flags in one pass, in memory or streaming over a file.

::

    import geocrime
    from geocrime.areas import Boundaries
    gaz = geocrime.Gazetteer.load("london.gaz")
    b = Boundaries.from_registry(["ward_2022", "lsoa_2021"])
    out = geocrime.enrich(df, gazetteer=gaz, boundaries=b, columns="address")   # a DataFrame
    manifest = enrich_file("incidents.csv", "incidents_enriched.parquet", gazetteer="london.gaz",
                           layers=["ward_2022", "lsoa_2021"], columns="address")
    # coordinates already present (police.uk rows): areas only, no gazetteer
    enrich_file("2024-01-street.csv", "out.csv", layers=["lsoa_2021"], coords=("Longitude", "Latitude"))

Every chunk goes through one function, :func:`_enrich_frame`, which calls the library stages
(:func:`geocrime.geocoding.geocode`, :func:`geocrime.areas.assign_areas`,
:func:`geocrime.address.parse_many`) — the single-process, streaming and dask paths all run it.

Output: the input columns, untouched and in order, then the added columns, all prefixed ``gc_``
(an input that already has a ``gc_*`` column of the same name is refused, never overwritten):

* with a gazetteer: ``gc_match_level``, ``gc_x``/``gc_y`` (EPSG:27700 metres), ``gc_lon``/``gc_lat``
  (EPSG:4326), ``gc_uncertainty_m`` (metres), ``gc_score``, ``gc_runner_up_score``, ``gc_margin``,
  ``gc_ambiguous``, ``gc_faults``, ``gc_n_candidates``, ``gc_candidate_id``, ``gc_gazetteer_id``,
  ``gc_matched_address``, ``gc_reason``, and per boundary kind the geocoder's
  own area estimate ``gc_<layer>_geocoder``/``gc_<layer>_confidence`` (e.g. ``gc_ward_2024_geocoder``: the
  likeliest ward over the candidates, and its probability; see :mod:`geocrime.geocoding`);
* without one (coordinates present): ``gc_x``/``gc_y`` (EPSG:27700 metres);
* with boundaries: one ``gc_<layer>`` code column per layer (the polygon the point lies in: the area of
  record) and ``gc_area_status``
  (see :func:`geocrime.areas.assign_areas`);
* with address columns: ``gc_placeholder`` (the reason the text is not an address, else null);
* always: ``gc_input_status`` (``ok``; ``empty_address`` when every address column is blank).

Files (:func:`enrich_file`): CSV or Parquet in, CSV or Parquet out (by suffix). The input is read
in chunks (memory stays flat), each finished chunk is written atomically as a part file in a work
directory beside the output (``.<output name>.gcwork/``); a re-run skips the parts whose key (a
SHA-256 of the settings, the input file, the gazetteer, the boundaries and the chunk's rows)
matches, so an interrupted run resumes and the result is byte-identical. The output appears (by
``os.replace``) only when complete; a manifest ``<output>.manifest.json`` is written beside it.

Encodings: CSV input must be UTF-8 (a byte-order mark is fine) unless ``encoding=`` says otherwise;
a file that does not decode fails *before any work* with a :class:`FileFormatError` naming the byte
and line and suggesting ``encoding="cp1252"``. geocrime never guesses an encoding: a wrong guess
would silently corrupt addresses.
"""
from __future__ import annotations

from .core import (
           DEFAULT_CHUNKSIZE,
           PREFIX,
           EnrichContext,
           EnrichError,
           EnrichSettings,
           added_columns,
           enrich,
           make_context,
)
from .files import code_hash, enrich_file, manifest_path, work_dir

__all__ = ["enrich", "enrich_file", "EnrichSettings", "EnrichContext", "EnrichError", "added_columns", "make_context",
           "code_hash", "manifest_path", "work_dir", "PREFIX", "DEFAULT_CHUNKSIZE"]
