"""Building algorithm images on a site with no registry access.

1. a Debian bookworm root file system by ``mmdebstrap`` from the host's apt mirror,
   ``docker import``ed (cached as a tarball: it takes minutes),
2. the base image: that root fs plus pinned Python wheels downloaded on the host with
   ``pip download`` (the image build itself runs with ``--network none``),
3. one image per algorithm from its folder's Dockerfile (or a default one).

Every image carries a ``jip.source-hash`` label of what it was built from, so an
unchanged algorithm is never rebuilt.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jip.config import Settings
from jip.pipelines.manifest import MANIFEST_NAME, without_digest_pin
from jip.pipelines.registry import REPO_ALGORITHMS, Algorithm
from jip.pipelines.runners.docker import DockerRunner, RunnerError

log = logging.getLogger(__name__)

BASE_DIR = REPO_ALGORITHMS / "base"
SUITE = "bookworm"
ROOTFS_PACKAGES = ["python3-minimal", "libpython3.11-stdlib", "libstdc++6"]
BASE_TAG = "jip/algorithm-base"
ROOTFS_TAG = "jip/debian-bookworm"
DEFAULT_DOCKERFILE = (
    "ARG BASE=jip/algorithm-base:latest\nFROM ${BASE}\nCOPY . /app/\n"
)
LABEL = "jip.source-hash"


def debian_mirror(
    sources: tuple[Path, ...] = (
        Path("/etc/apt/sources.list.d/debian.sources"),
        Path("/etc/apt/sources.list"),
    ),
) -> str:
    """The host's Debian mirror (deb822 ``URIs:`` or a one-line ``deb`` entry)."""
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^URIs:\s*(\S+)", text, re.M):
            if "security" not in m.group(1):
                return m.group(1)
        for m in re.finditer(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", text, re.M):
            return m.group(1)
    return "http://deb.debian.org/debian"


def _hash(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()[:16]


def folder_hash(folder: Path) -> str:
    """What an algorithm image is built from; the manifest's digest pin does not count
    (``jip algorithms build`` writes it after the build)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)

    def content(p: Path) -> bytes:
        if p.name == MANIFEST_NAME and p.parent == folder:
            return without_digest_pin(p.read_text()).encode()
        return p.read_bytes()

    return _hash(*(p.relative_to(folder).as_posix().encode() + content(p) for p in files))


class ImageBuilder:
    def __init__(self, runner: DockerRunner, cache_dir: Path) -> None:
        self.runner = runner
        self.cache = cache_dir
        self.cache.mkdir(parents=True, exist_ok=True)
        self.env = dict(runner.env, DOCKER_BUILDKIT="0")

    # -- layers ------------------------------------------------------------------------

    def rootfs_hash(self) -> str:
        return _hash(SUITE.encode(), " ".join(ROOTFS_PACKAGES).encode())

    def rootfs_tarball(self) -> Path:
        """The mmdebstrap root fs, built once per package list (minutes) and cached."""
        tar = self.cache / f"rootfs-{SUITE}-{self.rootfs_hash()}.tar"
        if tar.is_file():
            return tar
        tmp = tar.with_name(tar.stem + ".partial.tar")  # mmdebstrap infers the format
        cmd = [
            "mmdebstrap", "--variant=essential", "--dpkgopt=force-unsafe-io",
            "--aptopt=Acquire::Languages \"none\"",
            f"--include={','.join(ROOTFS_PACKAGES)}",
            SUITE, str(tmp), f"deb {debian_mirror()} {SUITE} main",
        ]
        log.info("building the %s root file system with mmdebstrap (minutes)", SUITE)
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if res.returncode != 0:
            raise RunnerError(f"mmdebstrap failed: {res.stderr[-3000:]}")
        tmp.rename(tar)
        return tar

    def wheels(self) -> Path:
        """The base image's wheels (cp311, manylinux), downloaded once with pip."""
        req = BASE_DIR / "requirements.txt"
        folder = self.cache / f"wheels-{_hash(req.read_bytes())}"
        if folder.is_dir():
            return folder
        tmp = Path(tempfile.mkdtemp(dir=self.cache))
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11",
            "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
            "--platform", "manylinux2014_x86_64", "-d", str(tmp), "-r", str(req),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if res.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RunnerError(f"pip download of the base wheels failed: {res.stderr[-3000:]}")
        tmp.chmod(0o755)
        tmp.rename(folder)
        return folder

    def base_image(self) -> str:
        """Tag of the base image, built if its inputs changed."""
        req = BASE_DIR / "requirements.txt"
        digest = _hash(self.rootfs_hash().encode(), req.read_bytes(),
                       (BASE_DIR / "Dockerfile").read_bytes())
        tag = f"{BASE_TAG}:{digest}"
        if not self._has(tag, digest):
            rootfs = f"{ROOTFS_TAG}:{self.rootfs_hash()}"
            if not self._has(rootfs, None):
                self._docker("import", "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:"
                             "/usr/sbin:/usr/bin:/sbin:/bin", str(self.rootfs_tarball()), rootfs,
                             timeout=900)
            with tempfile.TemporaryDirectory(dir=self.cache) as ctx:
                shutil.copy(BASE_DIR / "Dockerfile", ctx)
                shutil.copytree(self.wheels(), Path(ctx) / "wheels")
                self._build(ctx, tag, digest, {"ROOTFS": rootfs})
        self._docker("tag", tag, f"{BASE_TAG}:latest")
        return tag

    def build(self, algorithm: Algorithm) -> str:
        """Build ``algorithm``'s image under its manifest tag; returns the image id."""
        base = self.base_image()
        tag = algorithm.manifest.image
        digest = _hash(base.encode(), folder_hash(algorithm.folder).encode())
        if not self._has(tag, digest):
            with tempfile.TemporaryDirectory(dir=self.cache) as ctx:
                shutil.copytree(algorithm.folder, ctx, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                dockerfile = Path(ctx) / "Dockerfile"
                if not dockerfile.exists():
                    dockerfile.write_text(DEFAULT_DOCKERFILE)
                for p in Path(ctx).rglob("*"):
                    p.chmod(0o755 if p.is_dir() else 0o644)
                self._build(ctx, tag, digest, {"BASE": base})
        out = self._docker("image", "inspect", "--format", "{{.Id}}", tag).stdout
        return out.strip()

    def digest_to_pin(self, image_id: str) -> str:
        """The digest a manifest should pin for a built image: its registry digest once
        it was pushed (what a cluster pulls by), else the local image ID."""
        found = self.runner.api.inspect_image(image_id)
        for ref in (found or {}).get("RepoDigests") or []:
            return str(ref).rpartition("@")[2]
        return image_id

    # -- docker ------------------------------------------------------------------------

    def _has(self, tag: str, digest: str | None) -> bool:
        res = self._docker("image", "inspect", "--format",
                           "{{index .Config.Labels \"" + LABEL + "\"}}", tag, check=False)
        if res.returncode != 0:
            return False
        return digest is None or res.stdout.strip() == digest

    def _build(self, ctx: str, tag: str, digest: str, args: dict[str, str]) -> None:
        cmd = ["build", "--network", "none", "--tag", tag, "--label", f"{LABEL}={digest}"]
        for k, v in args.items():
            cmd += ["--build-arg", f"{k}={v}"]
        log.info("building image %s", tag)
        self._docker(*cmd, ctx, timeout=1800)

    def _docker(self, *args: str, timeout: float = 300,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        try:
            res = subprocess.run([self.runner.settings.docker_binary, *args], env=self.env,
                                 capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RunnerError(f"docker {args[0]} failed: {exc}") from exc
        if check and res.returncode != 0:
            raise RunnerError(f"docker {' '.join(args[:2])} failed: "
                              f"{(res.stderr or res.stdout)[-3000:]}")
        return res


def cache_dir(settings: Settings) -> Path:
    return settings.image_cache_dir or settings.data_dir / "image-cache"
