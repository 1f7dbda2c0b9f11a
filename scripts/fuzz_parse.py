"""Coverage-guided fuzzing (atheris) of JIP's parsing boundary: every byte string that
reaches ``jip.dicom.parse.parse_instance`` must either parse or raise ``DicomError`` --
any other exception is a crash that libFuzzer reports with the input that caused it.

    .venv/bin/python scripts/fuzz_parse.py -runs=3000 -seed=1        # bounded (CI)
    .venv/bin/python scripts/fuzz_parse.py -max_total_time=3600       # long run

Seeds: a few valid synthetic objects (written to a temp corpus folder unless a corpus
folder is given as the last argument), so the mutations start from real DICOM.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import pydicom  # noqa: F401 - instrumented for coverage feedback

    from jip.dicom import parse, structure  # noqa: F401
    from jip.errors import DicomError


def test_one_input(data: bytes) -> None:
    try:
        parse.parse_instance(data)
    except DicomError:
        pass


def seed_corpus(folder: Path) -> None:
    from jip.synthetic import SeriesSpec, dataset_bytes, make_series

    folder.mkdir(parents=True, exist_ok=True)
    for i, ds in enumerate(make_series(SeriesSpec(slices=2, size=8))):
        blob = dataset_bytes(ds)
        (folder / f"seed{i}.dcm").write_bytes(blob)
        (folder / f"seed{i}-truncated.dcm").write_bytes(blob[: len(blob) // 2])


def main() -> None:
    args = list(sys.argv)
    if len(args) < 2 or args[-1].startswith("-"):
        corpus = Path(tempfile.mkdtemp(prefix="jip-fuzz-corpus-"))
        args.append(str(corpus))
    else:
        corpus = Path(args[-1])
    if not any(corpus.glob("*")):
        seed_corpus(corpus)
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
