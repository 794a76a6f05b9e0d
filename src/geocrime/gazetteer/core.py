"""The :class:`Gazetteer`: one columnar table of addressable points plus its blocking index (EPSG:27700).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._geo import BNG
from ..errors import DataNotFoundError, GazetteerError, InputError, MissingColumnsError
from .keys import BlockIndex, block_keys, canonical_components
from .sources import (
    COMPONENTS,
    FORMAT_VERSION,
    MAX_STREET_RADIUS_M,
    PREMISES_RADIUS_M,
    STREET_MIN_RADIUS_M,
    _medoid_groups,
)


def parser_fingerprint() -> str:
    """Short hash of the address parser and canonicalisation source: a gazetteer is matched with
    the parser that built it (both sides of a match must be read the same way)."""
    import hashlib
    import inspect

    from ..address import normalise, police, rules
    from . import keys as _blocking

    h = hashlib.sha256()
    for m in (rules, normalise, police, _blocking):
        try:
            h.update(inspect.getsource(m).encode())
        except (OSError, TypeError):
            h.update(m.__name__.encode())
    return h.hexdigest()[:16]


#: a premises farther than this from its own postcode unit (or, without one, from every unit) is misplaced
MISPLACED_M = 2000.0


def _drop_misplaced(prem: pd.DataFrame, units: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop premises whose point contradicts their postcode (real FHRS rows are geocoded to the
    wrong Richmond, to 0,0 ...): farther than :data:`MISPLACED_M` from their postcode unit, or, when
    the unit is unknown, from every unit. Without postcode units nothing can be checked."""
    if not len(units) or not len(prem):
        return prem, 0
    from scipy.spatial import cKDTree

    u = units.drop_duplicates("k_pc_unit").set_index("k_pc_unit")
    ux = u["x"].reindex(prem["k_pc_unit"]).to_numpy(float)
    uy = u["y"].reindex(prem["k_pc_unit"]).to_numpy(float)
    px, py = prem["x"].to_numpy(float), prem["y"].to_numpy(float)
    d_own = np.hypot(px - ux, py - uy)
    d_any, _ = cKDTree(np.c_[units["x"].to_numpy(float), units["y"].to_numpy(float)]).query(np.c_[px, py])
    bad = np.where(np.isfinite(d_own), d_own > MISPLACED_M, d_any > MISPLACED_M)
    return prem[~bad], int(bad.sum())


#: premises sharing these fields and a point (to the metre) are the same premises
SAME_POINT_KEY = ["k_flat", "k_hn_num", "k_hn_suf", "k_hn_end", "k_street", "k_pc_unit", "_rx", "_ry"]


def _merge_same_point(prem: pd.DataFrame) -> pd.DataFrame:
    p = prem.assign(_rx=prem["x"].round(0), _ry=prem["y"].round(0), _bl=prem["k_bname"].str.len())
    eligible = ((p["k_hn_num"] >= 0) | (p["k_flat"] != "")) & (p["k_street"] != "")
    e = p[eligible].sort_values(["_bl"], kind="stable")
    e = e.drop_duplicates(SAME_POINT_KEY, keep="first")
    return pd.concat([e, p[~eligible]]).sort_index().drop(columns=["_rx", "_ry", "_bl"]).reset_index(drop=True)


class Gazetteer:
    """One columnar table of addressable points plus a blocking index over its premises.

    Build with :meth:`from_sources`; :meth:`save` / :meth:`load` round-trip it without rebuilding.
    ``table`` (DataFrame, x/y in EPSG:27700 metres), ``build_seconds``, ``meta`` (counts, sources).
    """

    def __init__(self, table: pd.DataFrame, index: BlockIndex, meta: dict[str, Any] | None = None) -> None:
        self.table = table
        self.index = index
        self.meta = dict(meta or {})
        self._prepare()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_sources(cls, sources: Sequence[pd.DataFrame], priorities: Sequence[int] | None = None,
                     progress: bool = False) -> "Gazetteer":
        """Combine source tables (from the ``read_*`` functions) into one gazetteer.

        ``priorities``: higher wins when two sources hold the same canonical premises (default: the
        order given, first highest). Postcode sector/district/area rows are derived from postcode units;
        street rows from ``street_point`` rows and premises (grouped by street and postcode district).
        """
        t0 = time.perf_counter()
        if not sources:
            raise GazetteerError("a gazetteer needs at least one source table")
        pri = list(priorities) if priorities is not None else list(range(len(sources), 0, -1))
        if len(pri) != len(sources):
            raise InputError("priorities must have one value per source")
        frames = []
        for s, p in zip(sources, pri):
            need = {"x", "y", "level", "source", *COMPONENTS}
            if not need <= set(s.columns):
                raise MissingColumnsError(f"source table lacks {sorted(need - set(s.columns))}; build it with a read_* function")
            frames.append(s.assign(priority=int(p)))
        t = pd.concat(frames, ignore_index=True)
        t = t[np.isfinite(t["x"].to_numpy(float)) & np.isfinite(t["y"].to_numpy(float))].reset_index(drop=True)
        if len(t) == 0:
            raise GazetteerError("the source tables hold no row with finite coordinates (x/y in EPSG:27700 metres): "
                                 "a gazetteer needs at least one addressable point")
        k = canonical_components(t[list(COMPONENTS)])
        t = pd.concat([t, k.add_prefix("k_")], axis=1)

        prem = t[t["level"] == "premises"]
        prem, n_bad = _drop_misplaced(prem, t[t["level"] == "postcode_unit"])
        # de-duplicate premises: the canonical address; the highest priority source wins, the
        # members of that source are merged to their medoid
        dkey = ["k_flat", "k_hn_num", "k_hn_suf", "k_hn_end", "k_bname", "k_street", "k_pc_unit"]
        prem = prem[(prem["k_street"] != "") | (prem["k_bname"] != "")]
        if len(prem):
            top = prem.groupby(dkey, sort=False)["priority"].transform("max")
            prem = prem[prem["priority"] == top]
            prem = _medoid_groups(prem, dkey)
            prem["radius"] = np.maximum(prem["radius"], PREMISES_RADIUS_M)
            # entries at the same point with the same number/flat, street and postcode are one
            # premises written with and without a building or business name: keep the one with
            # the shortest building name
            prem = _merge_same_point(prem)
        # street rows from snap points and premises, by street name and postcode district
        sp = t[t["level"] == "street_point"]
        sp_all = pd.concat([sp, prem.assign(level="street_point", source="premises")[sp.columns.intersection(prem.columns)]],
                           ignore_index=True) if len(prem) else sp
        sp_all = sp_all[sp_all["k_street"] != ""].reset_index(drop=True)
        units = t[t["level"] == "postcode_unit"].drop_duplicates("k_pc_unit")
        nodist = (sp_all["k_pc_district"] == "").to_numpy()
        if nodist.any() and len(units):
            # a point without a postcode takes the district of its nearest postcode unit
            from scipy.spatial import cKDTree

            tree = cKDTree(np.c_[units["x"].to_numpy(), units["y"].to_numpy()])
            _, j = tree.query(np.c_[sp_all["x"].to_numpy()[nodist], sp_all["y"].to_numpy()[nodist]])
            sp_all.loc[nodist, "k_pc_district"] = units["k_pc_district"].to_numpy(dtype=object)[j]
        sp_all = sp_all[sp_all["k_pc_district"] != ""]
        streets = _medoid_groups(sp_all, ["k_street", "k_pc_district"]) if len(sp_all) else sp_all
        if len(streets):
            # one name in one district spread over kilometres is several streets: not a street point
            streets = streets[streets["radius"] <= MAX_STREET_RADIUS_M].reset_index(drop=True)
            streets["level"] = "street"
            streets["radius"] = np.maximum(streets["radius"], STREET_MIN_RADIUS_M)
            for c in ("sub_building", "building_name", "house_number", "k_flat", "k_bname", "k_hn_suf"):
                streets[c] = ""
            streets["k_hn_num"] = -1
            streets["k_hn_end"] = -1
            streets["postcode"] = streets["k_pc_district"]
            streets["k_pc_unit"] = ""
            streets["k_pc_sector"] = ""
            streets["source_id"] = ""
        sp = sp.assign(members=1)
        aggs = []
        for lvl, col in (("postcode_sector", "k_pc_sector"), ("postcode_district", "k_pc_district"), ("postcode_area", "k_pc_area")):
            if len(units):
                a = _medoid_groups(units, [col])
                a["level"] = lvl
                a["postcode"] = a[col]
                for c in ("k_pc_unit", "k_pc_sector", "k_pc_district", "k_pc_area"):
                    if c != col and not (lvl == "postcode_sector" and c in ("k_pc_district", "k_pc_area")) \
                            and not (lvl == "postcode_district" and c == "k_pc_area"):
                        a[c] = ""
                a["source_id"] = a[col]
                aggs.append(a)
        table = pd.concat([prem, streets, sp, units.assign(members=1), *aggs], ignore_index=True)
        table["members"] = table["members"].fillna(1).astype("int32")
        table["radius"] = table["radius"].fillna(PREMISES_RADIUS_M).astype("float32")
        table.insert(0, "id", np.arange(len(table), dtype=np.int64))
        canon = table[list(COMPONENTS)].astype("str")
        line = canon["sub_building"]
        for c in COMPONENTS[1:]:
            line = line + " " + canon[c]
        from ..address import normalise_many

        table["canonical"] = normalise_many(line)
        for c in table.columns:
            if c.startswith("k_hn"):
                table[c] = table[c].astype("int32") if c in ("k_hn_num", "k_hn_end") else table[c].astype("str")
        table = table.drop(columns=[c for c in ("members",) if c not in table], errors="ignore")
        index = cls._build_index(table)
        meta = {
            "format_version": FORMAT_VERSION,
            "build_seconds": round(time.perf_counter() - t0, 3),
            "counts": table["level"].value_counts().to_dict(),
            "sources": sorted(table["source"].unique().tolist()),
            "premises_dropped_misplaced": int(n_bad),
            "parser_fingerprint": parser_fingerprint(),
            "crs": BNG,
        }
        return cls(table, index, meta)

    @staticmethod
    def _build_index(table: pd.DataFrame) -> BlockIndex:
        prem_pos = np.flatnonzero((table["level"] == "premises").to_numpy())
        kc = table.iloc[prem_pos][[c for c in table.columns if c.startswith("k_")]]
        kc.columns = [c[2:] for c in kc.columns]
        pos, keys = block_keys(kc, gazetteer_side=True)
        return BlockIndex(keys, prem_pos[pos])

    # ------------------------------------------------------------------ derived arrays
    def _prepare(self) -> None:
        t = self.table
        self.x = t["x"].to_numpy(float)
        self.y = t["y"].to_numpy(float)
        self.level = t["level"].to_numpy(dtype=object)
        self.ids = t["id"].to_numpy(np.int64)
        self.radius = t["radius"].to_numpy(np.float64)
        self.canonical = t["canonical"].to_numpy(dtype=object)
        self.k = {c[2:]: (t[c].to_numpy() if c.startswith("k_hn_num") or c.startswith("k_hn_end") else t[c].to_numpy(dtype=object))
                  for c in t.columns if c.startswith("k_")}
        # text fields as integer codes of one vocabulary per field (0 = ""), so that comparing a
        # query with its candidates is an integer comparison
        self.vocab: dict[str, pd.Index] = {}
        self.kcode: dict[str, np.ndarray] = {}
        for f, fields in (("flat", ["flat"]), ("hn_suf", ["hn_suf"]), ("street", ["street"]), ("bname", ["bname"]),
                          ("place", ["place", "place2"]), ("pc_unit", ["pc_unit"]), ("pc_sector", ["pc_sector"]),
                          ("pc_district", ["pc_district"])):
            vals = pd.unique(np.concatenate([self.k[x] for x in fields]).astype(object))
            voc = pd.Index([""] + sorted(v for v in vals if v != ""), dtype=object)
            for x in fields:
                self.vocab[x] = voc
                self.kcode[x] = voc.get_indexer(self.k[x]).astype(np.int32)
        # fallback lookups: key -> row position
        def lut(level: str, cols: list[str]) -> pd.Series:
            sub = t[t["level"] == level]
            key = sub[cols[0]].astype("str")
            for c in cols[1:]:
                key = key + "|" + sub[c].astype("str")
            s = pd.Series(sub.index.to_numpy(), index=key.to_numpy())
            return s[~s.index.duplicated(keep="first")]

        self._lut = {
            "street": lut("street", ["k_street", "k_pc_district"]),
            "postcode_unit": lut("postcode_unit", ["k_pc_unit"]),
            "postcode_sector": lut("postcode_sector", ["k_pc_sector"]),
            "postcode_district": lut("postcode_district", ["k_pc_district"]),
            "postcode_area": lut("postcode_area", ["k_pc_area"]),
        }
        st = t[t["level"] == "street"]
        cnt = st.groupby("k_street").size()
        uniq = cnt[cnt == 1].index
        s1 = st[st["k_street"].isin(uniq)]
        self._lut["street_unique"] = pd.Series(s1.index.to_numpy(), index=s1["k_street"].to_numpy())
        self._areas_cache: dict[int, Any] = {}
        self._tree: Any = None

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        c = self.table["level"].value_counts().to_dict()
        return f"Gazetteer({len(self)} entries: " + ", ".join(f"{k}={v}" for k, v in sorted(c.items())) + ")"

    @property
    def n_addresses(self) -> int:
        """Entries that can be matched as an address (premises + streets + postcode units)."""
        return int(self.table["level"].isin(["premises", "street", "postcode_unit"]).sum())

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the gazetteer to a directory: ``table.parquet`` (GeoParquet, points in EPSG:27700),
        ``index.npz`` (the blocking index) and ``meta.json``. Returns the directory."""
        import geopandas as gpd

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        gdf = gpd.GeoDataFrame(self.table, geometry=gpd.points_from_xy(self.x, self.y), crs=BNG)
        gdf.to_parquet(path / "table.parquet", index=False)
        np.savez(path / "index.npz", keys=self.index.keys, rows=self.index.rows, max_block=self.index.max_block)
        meta = dict(self.meta, n_rows=len(self.table))
        (path / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Gazetteer":
        """Load a gazetteer written by :meth:`save` (no rebuild: the index is read as saved)."""
        path = Path(path)
        if not (path / "meta.json").exists() or not (path / "table.parquet").exists():
            raise DataNotFoundError(f"no saved gazetteer at {path} (expected meta.json, table.parquet, index.npz); "
                                    "build one with `geocrime gazetteer build`")
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise GazetteerError(f"gazetteer at {path} has format {meta.get('format_version')}, this geocrime reads "
                                 f"{FORMAT_VERSION}; rebuild it")
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path / "table.parquet")
        cols = [c for c in pf.schema_arrow.names if c != "geometry"]
        table = pd.read_parquet(path / "table.parquet", columns=cols)
        if len(table) != meta.get("n_rows"):
            raise GazetteerError(f"gazetteer at {path} is damaged: {len(table)} rows, meta says {meta.get('n_rows')}")
        if meta.get("parser_fingerprint") not in (None, parser_fingerprint()):
            import warnings

            warnings.warn(f"the address parser changed since the gazetteer at {path} was built: queries and entries "
                          "may be read differently; rebuild it (`geocrime gazetteer build`)", stacklevel=2)
        z = np.load(path / "index.npz")
        index = BlockIndex.__new__(BlockIndex)
        index.keys, index.rows, index.max_block = z["keys"], z["rows"], int(z["max_block"])
        return cls(table, index, meta)

    # ------------------------------------------------------------------ areas
    def area_codes(self, boundaries: Any) -> dict[str, np.ndarray]:
        """Ward and LSOA code of every entry (object arrays, None outside), cached per boundaries object.

        ``boundaries``: a :class:`geocrime.areas.Boundaries` (its ``ward_*`` and ``lsoa_*`` layers are
        used) or a mapping ``{"ward": GeoDataFrame, "lsoa": GeoDataFrame}`` with a ``code`` column.
        """
        key = id(boundaries)
        if key not in self._areas_cache:
            from ..areas._points import point_codes

            self._areas_cache[key] = point_codes(self.x, self.y, boundaries)
        return self._areas_cache[key]

    # ------------------------------------------------------------------ reverse
    def nearest(self, x: np.ndarray, y: np.ndarray, levels: Sequence[str] = ("premises",)) -> tuple[np.ndarray, np.ndarray]:
        """Row position and distance (metres) of the nearest entry of ``levels`` to each point (EPSG:27700)."""
        from scipy.spatial import cKDTree

        levels = tuple(levels)
        if self._tree is None:
            self._tree = {}
        if levels not in self._tree:
            pos = np.flatnonzero(np.isin(self.level, list(levels)))
            if not len(pos):
                raise GazetteerError(f"the gazetteer has no {levels} entries")
            self._tree[levels] = (cKDTree(np.c_[self.x[pos], self.y[pos]]), pos)
        tree, pos = self._tree[levels]
        d, j = tree.query(np.c_[x, y])
        return pos[j], d
