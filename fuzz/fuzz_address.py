"""Fuzz target for the address parser and the postcode module (atheris / libFuzzer).

Every input is turned into text (UTF-8 with errors replaced, and also read as cp1252 bytes and as a
batch of lines) and fed to the public functions: ``geocrime.address.parse`` / ``parse_many`` /
``normalise`` / ``normalise_many`` (rules backend) and ``geocrime.address.postcode``
(``normalise``, ``kind``, ``is_valid``, ``split``, ``extract``, ``extract_many``). A crash is any
exception that is not a ``GeocrimeError``, or a broken invariant: rows in != rows out, a null or unknown
``parse_status``, a canonical postcode that does not normalise to itself, ``extract_many`` disagreeing
with ``extract``.

Run (from the repository root, with the test extra installed, which includes atheris)::

    .venv/bin/python fuzz/fuzz_address.py -max_total_time=60            # libFuzzer, 60 s
    .venv/bin/python fuzz/fuzz_address.py -max_total_time=60 fuzz/corpus  # keep a corpus directory
    .venv/bin/python fuzz/fuzz_address.py --fallback -max_total_time=60   # no atheris: random bytes

``--fallback`` (used automatically when atheris cannot be imported) drives the same ``check`` function
with seeded random bytes, mutated from a few real-shaped addresses, for the given time, and prints how
many inputs it ran. A failing input is written to ``fuzz/crash-<sha1>`` (both modes) so it can be
replayed with ``.venv/bin/python fuzz/fuzz_address.py fuzz/crash-<sha1>``.
"""
from __future__ import annotations

import hashlib
import os
import random
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import pandas as pd  # noqa: E402

try:
    import atheris
except ImportError:  # the fallback below needs no atheris
    atheris = None

if atheris is not None and "--fallback" not in sys.argv:
    with atheris.instrument_imports(include=["geocrime"]):  # coverage feedback from geocrime's code
        from geocrime.address import normalise, normalise_many, parse, parse_many, postcode
        from geocrime.errors import GeocrimeError
else:
    from geocrime.address import normalise, normalise_many, parse, parse_many, postcode  # noqa: E402
    from geocrime.errors import GeocrimeError  # noqa: E402

warnings.simplefilter("ignore")
STATUS = {"ok", "truncated", "placeholder", "empty", "invalid_input"}
SEEDS = [b"Flat 3, 12 High Street, London SE1 7PB", b"o/s 23 High St", b"j/o Foo Road and Bar Street",
         b"NFA", b"12-14 Upper Street N1 0PQ", b"R/O 5a Church Lane, Barking IG11 8PL", b"<b>1 A Rd</b><br>N1",
         b"=\"SW1A 1AA\"", b"BFPO 123", b"GIR 0AA", b"\xef\xbb\xbf12 Caf\xe9 Road", b"On or near Supermarket"]


def check(data: bytes) -> None:
    """One fuzz input through every public address/postcode function, with the invariants."""
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines() or [text]
    try:
        a = parse(text, backend="rules")
        assert a.parse_status in STATUS, a
        b = parse(data, backend="rules")  # bytes: UTF-8, else cp1252
        assert b.parse_status in STATUS, b
        batch = pd.Series(lines + [data, None], dtype=object)
        df = parse_many(batch, backend="rules")
        assert len(df) == len(batch) and list(df.index) == list(batch.index), "rows in != rows out"
        assert df["parse_status"].notna().all() and set(df["parse_status"]) <= STATUS, df["parse_status"]
        n1 = normalise(text)
        assert isinstance(n1, str)
        nm = normalise_many(pd.Series(lines, dtype=object))
        assert len(nm) == len(lines)
        for s in [text, *lines[:20]]:
            code = postcode.normalise(s)
            assert code is None or postcode.normalise(code) == code, (s, code)
            postcode.kind(s)
            postcode.is_valid(s)
            postcode.split(s)
        ex = postcode.extract_many(pd.Series(lines, dtype=object))
        assert len(ex) == len(lines)
        for s, pc, rest in zip(lines[:20], ex["postcode"], ex["remainder"]):
            assert postcode.extract(s) == (pc, rest), (s, pc, rest)
            assert pc is None or postcode.normalise(pc) == pc
    except GeocrimeError:
        pass  # a deliberate, documented refusal is not a crash


def _save(data: bytes) -> Path:
    p = HERE / f"crash-{hashlib.sha1(data).hexdigest()}"
    p.write_bytes(data)
    return p


def _mutate(rng: random.Random, seed: bytes) -> bytes:
    b = bytearray(seed)
    for _ in range(rng.randint(0, 8)):
        op = rng.randint(0, 4)
        i = rng.randint(0, len(b))
        if op == 0:
            b[i:i] = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 8)))
        elif op == 1 and b:
            del b[i:i + rng.randint(1, 6)]
        elif op == 2:
            b[i:i] = rng.choice(SEEDS)
        elif op == 3:
            b[i:i] = rng.choice(["😀", "\u202e", "\u200b", "\ud800", "<script>", ",", "\n", "\x00"]).encode("utf-8", "surrogatepass")
        else:
            b = bytearray(bytes(b) * rng.randint(1, 3))
    if rng.random() < 0.01:
        b = b * 2000  # now and then a long one
    return bytes(b)


def fallback(max_total_time: float, seed: int = 0) -> int:
    """Random-bytes driver for ``check`` (no atheris). Returns the number of inputs run."""
    rng = random.Random(seed)
    t_end = time.monotonic() + max_total_time
    n = 0
    while time.monotonic() < t_end:
        if rng.random() < 0.3:
            data = bytes(rng.randint(0, 255) for _ in range(rng.randint(0, 80)))
        else:
            data = _mutate(rng, rng.choice(SEEDS))
        try:
            check(data)
        except Exception:
            print(f"crash after {n} inputs; input saved to {_save(data)}", file=sys.stderr)
            raise
        n += 1
    return n


def main(argv: list[str]) -> None:
    files = [a for a in argv[1:] if not a.startswith("-") and Path(a).is_file()]
    if files:  # replay crash files
        for f in files:
            check(Path(f).read_bytes())
            print(f"{f}: ok")
        return
    want_fallback = "--fallback" in argv
    if atheris is None:
        want_fallback = True
        print("atheris is not installed: using the random-bytes fallback", file=sys.stderr)
    if want_fallback:
        t = next((float(a.split("=", 1)[1]) for a in argv if a.startswith("-max_total_time=")), 60.0)
        seed = int(os.environ.get("FUZZ_SEED", "0"))
        t0 = time.monotonic()
        n = fallback(t, seed)
        print(f"fallback fuzzing: {n} inputs in {time.monotonic() - t0:.0f} s, no crash (seed {seed})")
        return
    def target(data: bytes) -> None:
        try:
            check(data)
        except Exception:
            _save(data)
            raise

    args = [a for a in argv if a != "--fallback"]
    atheris.Setup(args, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
