"""Time `justrl-prep dapo` on a synthetic DAPO-Math-17k-layout file of 1.79M rows.

Target (issue 4): under 60 s and under 4 GiB peak resident memory on the 2-core dev machine.
The file mirrors the public one: 17,914 distinct problems (~400 characters, DAPO's wrapper)
repeated 100 times. The builder runs in a child process so its peak RSS is measured alone.
Baseline printed beside it: reading the same columns with pyarrow and nothing else (the floor).

    python benchmarks/prep_throughput.py [--rows 1791400] [--keep-duplicates]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from data_prep.layouts import write_dapo_layout

REPO = Path(__file__).resolve().parents[1]

DISTINCT = 17914
FILLER = "A point moves on the plane so that its distance to the origin plus its distance to the line x = 4 stays constant. "


def synthetic_source(path: Path, rows: int) -> Path:
    problems = [(f"Problem {i}. {FILLER * 3}Find the value of k_{i}.", str(i * 7 % 1000)) for i in range(DISTINCT)]
    repeats = -(-rows // DISTINCT)
    return write_dapo_layout(path, problems, repeats=repeats, chunk_repeats=5)


def child_run(code: str) -> tuple[float, float]:
    """Run code in a fresh interpreter; return (wall seconds, that interpreter's own peak RSS GiB)."""
    probe = "\nimport resource\nprint('PEAK_KIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code + probe], check=True, cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - start
    peak_kib = int(done.stdout.rsplit("PEAK_KIB", 1)[1])
    return wall, peak_kib / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_791_400)
    parser.add_argument("--keep-duplicates", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = synthetic_source(Path(tmp) / "dapo.parquet", args.rows)
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(src).metadata.num_rows
        print(f"synthetic DAPO-layout file: {rows} rows, {src.stat().st_size / 2**20:.0f} MiB")
        read_s, read_gib = child_run(
            "import pyarrow.parquet as pq\n"
            f"for b in pq.ParquetFile({str(src)!r}).iter_batches(131072, columns=['prompt','reward_model']): b.column(0).to_pylist()"
        )
        label = "justrl-prep dapo" + (" --keep-duplicates" if args.keep_duplicates else "")
        build_s, build_gib = child_run(
            "from pathlib import Path\nfrom data_prep.dapo import build_dapo\n"
            f"build_dapo(Path({tmp!r}) / 'out', {str(src)!r}, keep_duplicates={args.keep_duplicates}, decontam=False)"
        )
        out = pq.ParquetFile(Path(tmp) / "out/train.parquet").metadata.num_rows
        print(f"{'step':<34}{'seconds':>10}{'peak GiB':>10}")
        print(f"{'baseline: pyarrow read + to_pylist':<34}{read_s:>10.1f}{read_gib:>10.2f}")
        print(f"{label:<34}{build_s:>10.1f}{build_gib:>10.2f}")
        print(f"build/baseline time ratio: {build_s / read_s:.2f}; rows out: {out}")
        ok = build_s < 60 and build_gib < 4
        print(f"target (< 60 s, < 4 GiB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
