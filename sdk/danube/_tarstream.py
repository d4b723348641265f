"""Stream a directory as a gzip-compressed tar archive, chunk by chunk.

Nothing is held in memory beyond one chunk of input and output: the tar blocks are
produced member by member and compressed as they go, so a directory of gigabytes
uploads in constant memory. The archive is reproducible for the same files: members in
name order, owners cleared, gzip header time 0.
"""

from __future__ import annotations

import io
import os
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from danube.errors import ArtifactError

CHUNK_SIZE = 64 * 1024
_BLOCK = tarfile.BLOCKSIZE
_RECORD = tarfile.RECORDSIZE
_GZIP_WBITS = 31  # zlib: gzip container


def tar_gz_chunks(root: Path, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield the .tar.gz of `root`'s contents (members relative to `root`) in chunks."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, _GZIP_WBITS)
    pending = bytearray()
    for block in _tar_blocks(root):
        pending += compressor.compress(block)
        while len(pending) >= chunk_size:
            yield bytes(pending[:chunk_size])
            del pending[:chunk_size]
    pending += compressor.flush()
    for start in range(0, len(pending), chunk_size):
        yield bytes(pending[start : start + chunk_size])


def _tar_blocks(root: Path) -> Iterator[bytes]:
    # A TarFile writing into a throwaway buffer is used only for gettarinfo(), which knows
    # every file type and turns a second path to the same inode into a hard link.
    archiver = tarfile.TarFile(fileobj=io.BytesIO(), mode="w", format=tarfile.PAX_FORMAT)
    written = 0
    try:
        for path, arcname in _walk(root, ""):
            info = archiver.gettarinfo(str(path), arcname)
            if info is None:  # sockets and other types tar cannot hold
                continue
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            yield header
            written += len(header)
            if info.isreg() and info.size:
                yield from _file_content(path, arcname, info.size)
                written += -(-info.size // _BLOCK) * _BLOCK
    finally:
        archiver.close()
    end = 2 * _BLOCK
    end += -(written + end) % _RECORD
    yield b"\0" * end


def _walk(directory: Path, prefix: str) -> Iterator[tuple[Path, str]]:
    try:
        entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
    except OSError as exc:
        raise ArtifactError(f"cannot list {directory}: {exc.strerror}") from exc
    for entry in entries:
        arcname = f"{prefix}{entry.name}"
        yield Path(entry.path), arcname
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), f"{arcname}/")


def _file_content(path: Path, arcname: str, size: int) -> Iterator[bytes]:
    remaining = size
    with open(path, "rb") as file:
        while remaining:
            data = file.read(min(CHUNK_SIZE, remaining))
            if not data:
                raise ArtifactError(f"{arcname} shrank while it was being archived")
            remaining -= len(data)
            yield data
    padding = -size % _BLOCK
    if padding:
        yield b"\0" * padding
