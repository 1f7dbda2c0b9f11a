import json
import os
import time
from pathlib import Path

inp = Path(os.environ["JIP_INPUT_DIR"])
out = Path(os.environ["JIP_OUTPUT_DIR"])
params = json.loads(Path(os.environ["JIP_PARAMS"]).read_text())
time.sleep(float(params.get("seconds", 0)))
series = {d.name: len(list(d.iterdir())) for d in inp.iterdir() if d.is_dir()}
(out / "count.json").write_text(json.dumps({"series": series, "uid": os.getuid()}))
print(f"counted {sum(series.values())} files in {len(series)} series")
