import json
import os
from pathlib import Path

inp = Path(os.environ["JIP_INPUT_DIR"])
out = Path(os.environ["JIP_OUTPUT_DIR"])
params = json.loads(Path(os.environ["JIP_PARAMS"]).read_text())
(out / "params.json").write_text(json.dumps(params))
rows = ["series_uid,files,label"]
rows += [f"{d.name},{len(list(d.iterdir()))},{params['label']}" for d in inp.iterdir()]
(out / "table.csv").write_text("\n".join(rows) + "\n")
print(f"echoed {len(params)} parameters")
