"""The per-user FAISS index of reference faces: a disposable cache of the database.

No Django here (workers, commands, tests and the benchmark share it). `faces.recognition`
decides *what* goes in (which faces, which version) and records the file's sha256 in the
database; this module only builds, writes, verifies and searches.

One file per user holds the FAISS index (face ids through IndexIDMap2), the person id of
every reference face and a small header (format, labels version, model id, dimension). The
whole file is covered by the sha256 the database records: FAISS loads a file with a flipped
byte without complaint, so the checksum, not FAISS, is what decides whether a file is used.

Builds are deterministic (faces in id order, one thread for HNSW), so two machines that build
the same version from the same database write byte-identical files with the same checksum.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

MAGIC = b"SGFACEIDX"
FORMAT = 1
FILE_NAME = "faces.index"
TMP_SUFFIX = ".tmp"
# Exact search costs n * dim per query: about 25 MFLOP for 50K faces of 512-d, a few ms.
# Above that an HNSW graph keeps a query well under a millisecond at a small recall cost.
EXACT_MAX = 50_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
# A temp file older than this was left by a crashed writer, not by one still writing.
STALE_TMP_SECONDS = 600


class IndexUnusable(Exception):
    """The file is missing, truncated, corrupt, of another version or model: rebuild it."""


@dataclass
class FaceIndex:
    index: faiss.Index
    face_ids: np.ndarray  # int64, ascending: the reference faces
    person_ids: np.ndarray  # int64, person of face_ids[i]
    version: int
    model_id: str
    dim: int

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        inner = faiss.downcast_index(self.index.index)
        return "hnsw" if hasattr(inner, "hnsw") else "flat"

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(similarities, face ids, person ids), each (n, k'), best first; k' = min(k, ntotal).

        Missing neighbours (an approximate index may return fewer) have face id -1 and
        person id -1.
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        k = min(k, self.ntotal)
        if k == 0 or len(queries) == 0:
            empty = np.empty((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64), empty.astype(np.int64)
        similarities, labels = self.index.search(queries, k)
        positions = np.searchsorted(self.face_ids, labels)
        positions = np.clip(positions, 0, len(self.face_ids) - 1)
        persons = np.where(labels >= 0, self.person_ids[positions], -1)
        return similarities, labels, persons

    def to_bytes(self) -> bytes:
        header = json.dumps(
            {
                "format": FORMAT,
                "version": self.version,
                "model_id": self.model_id,
                "dim": self.dim,
                "count": self.ntotal,
                "kind": self.kind,
            },
            sort_keys=True,
        ).encode()
        body = faiss.serialize_index(self.index).tobytes()
        return b"".join(
            [
                MAGIC,
                struct.pack("<II", len(header), 0),
                header,
                struct.pack("<Q", len(body)),
                body,
                self.person_ids.astype("<i8").tobytes(),
            ]
        )


def build(
    *,
    vectors: np.ndarray,
    face_ids: np.ndarray,
    person_ids: np.ndarray,
    version: int,
    model_id: str,
    dim: int,
    exact_max: int = EXACT_MAX,
) -> FaceIndex:
    """An index of unit vectors (inner product = cosine similarity), faces sorted by id."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    face_ids = np.asarray(face_ids, dtype=np.int64)
    person_ids = np.asarray(person_ids, dtype=np.int64)
    if not (len(vectors) == len(face_ids) == len(person_ids)):
        raise ValueError("one face id and one person id per vector are needed")
    order = np.argsort(face_ids, kind="stable")
    vectors, face_ids, person_ids = vectors[order], face_ids[order], person_ids[order]
    if len(np.unique(face_ids)) != len(face_ids):
        raise ValueError("face ids must be unique")
    if len(vectors) <= exact_max:
        inner = faiss.IndexFlatIP(dim)
        index = faiss.IndexIDMap2(inner)
        index.add_with_ids(vectors, face_ids)
    else:
        inner = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
        index = faiss.IndexIDMap2(inner)
        # Parallel HNSW insertion is not deterministic; one thread gives every machine the
        # same graph and so the same checksum.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            index.add_with_ids(vectors, face_ids)
        finally:
            faiss.omp_set_num_threads(threads)
    return FaceIndex(index=index, face_ids=face_ids, person_ids=person_ids, version=version, model_id=model_id, dim=dim)


def from_bytes(data: bytes) -> FaceIndex:
    """Parse a file's bytes; raises IndexUnusable for anything that is not a whole index."""
    try:
        if not data.startswith(MAGIC):
            raise IndexUnusable("not an index file")
        offset = len(MAGIC)
        header_len, _ = struct.unpack_from("<II", data, offset)
        offset += 8
        header = json.loads(data[offset : offset + header_len])
        offset += header_len
        (body_len,) = struct.unpack_from("<Q", data, offset)
        offset += 8
        body = np.frombuffer(data, dtype=np.uint8, count=body_len, offset=offset)
        offset += body_len
        count = int(header["count"])
        if header.get("format") != FORMAT or len(data) != offset + 8 * count:
            raise IndexUnusable("truncated or unknown format")
        person_ids = np.frombuffer(data, dtype="<i8", count=count, offset=offset).astype(np.int64)
        index = faiss.deserialize_index(body.copy())
    except IndexUnusable:
        raise
    # FAISS raises RuntimeError on a damaged body; struct/json/numpy raise their own types.
    except (RuntimeError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise IndexUnusable(f"unreadable index: {type(exc).__name__}: {exc}") from exc
    if index.ntotal != count or index.d != int(header["dim"]):
        raise IndexUnusable("header and index disagree")
    if isinstance(index, faiss.IndexIDMap2) and hasattr(faiss.downcast_index(index.index), "hnsw"):
        faiss.downcast_index(index.index).hnsw.efSearch = HNSW_EF_SEARCH
    face_ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    return FaceIndex(
        index=index,
        face_ids=face_ids,
        person_ids=person_ids,
        version=int(header["version"]),
        model_id=str(header["model_id"]),
        dim=int(header["dim"]),
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def index_path(root: str | os.PathLike[str], user_id: int) -> Path:
    return Path(root) / str(int(user_id)) / FILE_NAME


def save(face_index: FaceIndex, path: str | os.PathLike[str]) -> str:
    """Write atomically (temp file, fsync, os.replace, directory fsync); returns the sha256.

    A crash at any point leaves either the previous file or the new one, never a mix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent)
    data = face_index.to_bytes()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_name, path)
    except Exception:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)
    return sha256_hex(data)


def load(path: str | os.PathLike[str], *, expected_sha256: str, expected_version: int, model_id: str) -> FaceIndex:
    """Read and verify a file against what the database recorded; IndexUnusable if it differs."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise IndexUnusable("missing") from None
    if not expected_sha256 or sha256_hex(data) != expected_sha256:
        raise IndexUnusable("checksum mismatch")
    face_index = from_bytes(data)
    if face_index.version != expected_version:
        raise IndexUnusable(f"version {face_index.version}, expected {expected_version}")
    if face_index.model_id != model_id:
        raise IndexUnusable(f"model {face_index.model_id}, expected {model_id}")
    return face_index


def remove_stale_temp_files(folder: Path, *, older_than: float = STALE_TMP_SECONDS) -> None:
    now = time.time()
    for tmp in folder.glob(f".*{TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > older_than:
                tmp.unlink()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
