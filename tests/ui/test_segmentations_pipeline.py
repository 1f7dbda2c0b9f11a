"""The real ct-body-seg algorithm's SEG (run as a process under its I/O contract) is
listed and drawn on its source series by the overlay API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from jip.api.app import create_app
from jip.runtime import Runtime
from jip.synthetic import SeriesSpec, dataset_bytes, make_series

ALGORITHM = Path(__file__).resolve().parents[2] / "algorithms" / "ct-body-seg" / "main.py"


def test_ct_body_seg_output_overlays_its_source(runtime: Runtime, tmp_path: Path) -> None:
    ct = list(make_series(SeriesSpec(slices=6, size=32, patient_id="ALGO1")))
    series_uid = str(ct[0].SeriesInstanceUID)
    inp, out = tmp_path / "in" / series_uid, tmp_path / "out"
    inp.mkdir(parents=True)
    out.mkdir()
    for ds in ct:
        runtime.ingestor.ingest(dataset_bytes(ds))
        ds.save_as(inp / f"{ds.SOPInstanceUID}.dcm", enforce_file_format=True)
    (tmp_path / "params.json").write_text(json.dumps({}))
    env = dict(
        os.environ,
        JIP_INPUT_DIR=str(inp.parent),
        JIP_OUTPUT_DIR=str(out),
        JIP_PARAMS=str(tmp_path / "params.json"),
    )
    subprocess.run([sys.executable, str(ALGORITHM)], env=env, check=True, timeout=120)
    runtime.ingestor.ingest((out / "seg" / f"{series_uid}.dcm").read_bytes())

    with TestClient(create_app(runtime)) as c:
        (item,) = c.get(f"/api/v1/series/{series_uid}/segmentations").json()["items"]
        assert [s["label"] for s in item["segments"]] == ["Body", "Lung"]
        assert item["series_description"] == "Body segmentation (JIP)"
        middle = str(ct[3].SOPInstanceUID)
        assert item["slices"][middle] == [1, 2]
        masks = c.get(item["masks_url"], params={"source": middle}).json()
        body = np.zeros(32 * 32, bool)
        runs = masks["segments"][0]["runs"]
        for start, length in zip(runs[0::2], runs[1::2], strict=True):
            body[start : start + length] = True
        pixels = np.frombuffer(ct[3].PixelData, np.int16).reshape(32, 32)
        # the body mask covers the phantom's body (HU > -500 there) and not the air corner
        assert body.reshape(32, 32)[16, 16] and not body.reshape(32, 32)[0, 0]
        assert body.sum() >= (pixels > -500).sum() * 0.9
