import os
from pathlib import Path

out = Path(os.environ["JIP_OUTPUT_DIR"])
(out / "ok.json").write_text("{}")
(out / "exfiltrate.txt").write_text("not declared")
