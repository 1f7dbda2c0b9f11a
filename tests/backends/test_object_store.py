"""The ObjectStore contract, run against both backends: a folder and a real S3 server."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from jip.errors import NotFoundError, StorageError
from jip.store.base import ObjectStore, content_key
from jip.store.filesystem import FilesystemStore
from jip.store.s3 import S3Store
from tests.backends.conftest import unique
from tests.conftest import free_port
from tests.servers import S3Server


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "filesystem":
        st: ObjectStore = FilesystemStore(tmp_path / "objects")
    else:
        s3: S3Server = request.getfixturevalue("s3_server")
        st = S3Store(
            endpoint=s3.endpoint,
            access_key=s3.access_key,
            secret_key=s3.secret_key,
            bucket=unique("jip-"),
        )
    yield st
    st.close()


def test_put_get_roundtrip_exact_bytes(store: ObjectStore) -> None:
    blobs = [b"", b"DICM", bytes(range(256)) * 4000]  # up to ~1 MB
    keys = [store.put(b) for b in blobs]
    assert keys == [content_key(b) for b in blobs]
    for k, b in zip(keys, blobs, strict=True):
        assert store.get(k) == b
        assert store.exists(k)
    assert sorted(store.keys()) == sorted(keys)


def test_put_same_bytes_twice_is_one_object(store: ObjectStore) -> None:
    assert store.put(b"same") == store.put(b"same")
    assert list(store.keys()) == [content_key(b"same")]


def test_missing_and_deleted(store: ObjectStore) -> None:
    key = store.put(b"to delete")
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(NotFoundError):
        store.get(key)
    store.delete(key)  # deleting twice is fine
    assert list(store.keys()) == []


def test_keys_cannot_name_paths(store: ObjectStore) -> None:
    for bad in ["../../etc/passwd", "a" * 63, "A" * 64, "/" + "a" * 63]:
        with pytest.raises(ValueError):
            store.get(bad)


def test_concurrent_puts(store: ObjectStore) -> None:
    blobs = [f"object {i}".encode() * 100 for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(store.put, blobs + blobs))
    assert len(set(keys)) == 40
    assert all(store.get(k) == b for k, b in zip(keys, blobs + blobs, strict=True))


def test_s3_wrong_secret_is_storage_error(s3_server: S3Server) -> None:
    with pytest.raises(StorageError, match="SignatureDoesNotMatch|AccessDenied"):
        S3Store(
            endpoint=s3_server.endpoint,
            access_key=s3_server.access_key,
            secret_key="not-the-secret",
            bucket=unique("jip-"),
        )


def test_s3_unreachable_fails_fast_as_storage_error() -> None:
    t0 = time.monotonic()
    with pytest.raises(StorageError):
        S3Store(endpoint=f"127.0.0.1:{free_port()}", access_key="a", secret_key="b", bucket="jip")
    assert time.monotonic() - t0 < 15


@pytest.mark.parametrize("anonymous", [True, False], ids=["o_tmpfile", "named_temp"])
def test_folder_store_write_paths(tmp_path: Path, anonymous: bool) -> None:
    """Both ways of writing a new object (anonymous file linked into place, or named
    temp file renamed) store exact bytes, dedupe concurrent puts of the same bytes and
    leave no temp file behind; staged objects are complete before their flush."""
    store = FilesystemStore(tmp_path / "objects")
    assert store._anonymous  # this machine's filesystem has O_TMPFILE: the fast path
    store._anonymous = anonymous
    blobs = [os.urandom(50_000) for _ in range(12)]
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(store.put, blobs * 3))
    assert keys == [content_key(b) for b in blobs * 3]
    assert sorted(store.keys()) == sorted(set(keys))
    assert all(store.get(k) == b for k, b in zip(keys, blobs, strict=False))
    staged = store.stage(b"staged bytes")
    assert store.path(staged.key).read_bytes() == b"staged bytes"
    staged.flush()
    staged.wait_durable(1)
    assert list((tmp_path / "objects" / ".tmp").iterdir()) == []
    store.close()


def test_folder_store_layouts(tmp_path: Path) -> None:
    """A new folder store keeps objects in ``ab/<key>``; one written with the earlier
    ``ab/cd/<key>`` layout is read and written as it is; each remembers its layout."""
    fresh = FilesystemStore(tmp_path / "fresh")
    key = fresh.put(b"flat object")
    assert fresh.path(key) == tmp_path / "fresh" / key[:2] / key
    assert (tmp_path / "fresh" / ".layout").read_text().strip() == "flat"
    assert len([d for d in (tmp_path / "fresh").iterdir() if d.is_dir()]) == 256 + 1  # .tmp
    fresh.close()

    old_root = tmp_path / "old"
    old = [os.urandom(1000) for _ in range(3)]
    for blob in old:  # as JIP wrote objects before the flat layout
        k = content_key(blob)
        (old_root / k[:2] / k[2:4]).mkdir(parents=True, exist_ok=True)
        (old_root / k[:2] / k[2:4] / k).write_bytes(blob)
    store = FilesystemStore(old_root)
    assert store.nested
    assert sorted(store.keys()) == sorted(content_key(b) for b in old)
    assert all(store.get(content_key(b)) == b for b in old)
    new_key = store.put(b"written after the upgrade")
    assert store.path(new_key) == old_root / new_key[:2] / new_key[2:4] / new_key
    assert set(store.files_since(time.time() - 60)) >= {store.path(new_key)}
    store.close()
    assert (old_root / ".layout").read_text().strip() == "nested"
    # the record decides from now on, even for a store without a nested object yet
    assert FilesystemStore(old_root).nested
    assert not FilesystemStore(tmp_path / "fresh").nested


def test_a_flat_store_missing_a_folder_makes_it_again(tmp_path: Path) -> None:
    """A recorded flat store opens without making or flushing anything (each storage
    worker opens it anew), yet a folder removed behind its back is made again."""
    root = tmp_path / "objects"
    FilesystemStore(root).close()
    blob = b"an object for a folder that was removed"
    key = content_key(blob)
    (root / key[:2]).rmdir()
    store = FilesystemStore(root)
    try:
        assert store.get(store.put(blob)) == blob
        assert store.path(key).parent == root / key[:2]
    finally:
        store.close()
