"""Which algorithms this site has: one folder per algorithm, each with its manifest,
Dockerfile and code, under the configured ``algorithms_dirs``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from jip.errors import NotFoundError
from jip.pipelines.manifest import MANIFEST_NAME, AlgorithmManifest, ManifestError, load_manifest

log = logging.getLogger(__name__)

REPO_ALGORITHMS = Path(__file__).resolve().parents[3] / "algorithms"


@dataclass(frozen=True)
class Algorithm:
    manifest: AlgorithmManifest
    folder: Path  # holds jip-algorithm.yaml, Dockerfile and the code

    @property
    def name(self) -> str:
        return self.manifest.name


class AlgorithmRegistry:
    def __init__(self, dirs: list[Path]) -> None:
        self.dirs = dirs or [REPO_ALGORITHMS]
        self._algorithms: dict[str, Algorithm] = {}
        self.reload()

    def reload(self) -> None:
        """Scan the folders again; a broken manifest is logged and skipped, not fatal."""
        found: dict[str, Algorithm] = {}
        for root in self.dirs:
            if not root.is_dir():
                continue
            for mf in sorted(root.glob(f"*/{MANIFEST_NAME}")):
                try:
                    manifest = load_manifest(mf)
                except ManifestError as exc:
                    log.error("skipping algorithm: %s", exc.message)
                    continue
                found.setdefault(manifest.name, Algorithm(manifest, mf.parent))
        self._algorithms = found

    def list(self) -> list[Algorithm]:
        return sorted(self._algorithms.values(), key=lambda a: a.name)

    def get(self, name: str) -> Algorithm:
        try:
            return self._algorithms[name]
        except KeyError:
            raise NotFoundError(f"unknown algorithm {name!r}") from None

    def add(self, algorithm: Algorithm) -> None:
        self._algorithms[algorithm.name] = algorithm
