"""The per-user FAISS index of reference faces: a disposable cache of the database.

No Django here (workers, commands, tests and the benchmark share it). `faces.recognition`
decides *what* goes in (which faces, which version) and records the file's sha256 in the
database; this module only builds, writes, verifies and searches.

One file per user holds the FAISS index (face ids through IndexIDMap2), the person id of
every reference face and a small header (format, labels version, model id, dimension, kind).
The whole file is covered by the sha256 the database records: FAISS loads a file with a
flipped byte without complaint, so the checksum, not FAISS, is what decides whether a file is
used, and it is verified before FAISS parses anything.

Three kinds, by the number of reference faces (docs/PEOPLE.md, measured in docs/BENCHMARKS.md):

    flat       up to FLOAT32_MAX: exact float32 scan (IndexFlatIP), as before
    flat16     up to EXACT_MAX: exact scan over half-precision vectors (IndexScalarQuantizer
               QT_fp16): half the bytes per query and in memory, same neighbours
    pq-refine  above: a 4-bit product-quantizer fast scan (IndexPQFastScan) proposes
               REFINE_FACTOR * k candidates, re-ranked by the fp16 similarity (IndexRefine)

Builds are deterministic (faces in id order, a fixed training sample and seed, one thread),
so two machines that build the same version from the same database write byte-identical files
with the same checksum. A label-only change (same faces, same vectors, other persons) reuses
the FAISS part of the previous pq-refine index: the file is byte-identical to a fresh build.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import faiss
import numpy as np

MAGIC = b"SGFACEIDX"
# 2: format 1 files may hold an HNSW graph (what users above 50,000 faces got before
# pq-refine). This module no longer builds or tunes one, so such a file is unusable and is
# rebuilt from the database like any other stale cache.
FORMAT = 2
FILE_NAME = "faces.index"
TMP_SUFFIX = ".tmp"
# One OpenMP thread per search. A recognition query is one face (or one photo's few faces):
# FAISS's default of one thread per core gains nothing on it, and when another process holds
# a core the second thread waits for it, which made p99 4-30x worse on a busy 2-core machine.
# omp_set_num_threads is per OS thread (libgomp), so it is set here for the importing thread
# (a worker's main thread) and again at each search, for request or pool threads.
SEARCH_THREADS = 1
# Builds run on one thread too: the same sequence of floating point operations on every run.
BUILD_THREADS = 1
faiss.omp_set_num_threads(SEARCH_THREADS)
# Up to this many faces: exact float32, unchanged (fp16 moves ~8 % of the 4-decimal
# similarities and reorders near-ties: small users keep bit-identical results).
FLOAT32_MAX = 50_000
# Up to this many: exact fp16 scan (~0.03 ms per 1,000 faces per query on one thread).
EXACT_MAX = 300_000
# pq-refine: 2 dimensions per 4-bit sub-quantizer (256 x 16 centroids at 512-d, 128 bytes a
# face), trained on a fixed-stride sample of exactly 16 * 256 faces (FAISS's own cap per
# centroid, so it does not subsample) with a fixed seed; the best REFINE_FACTOR * k candidates
# are re-ranked with the fp16 vectors, so returned similarities are those of flat16.
PQ_DIMS_PER_SUBQUANTIZER = 2
PQ_BITS = 4
PQ_TRAIN_POINTS = 16 * 256
PQ_SEED = 1234
REFINE_FACTOR = 16
# Kinds whose FAISS part is reused when only person labels changed (see `build`).
REUSABLE_KINDS = frozenset({"pq-refine"})
# A temp file older than this was left by a crashed writer, not by one still writing.
STALE_TMP_SECONDS = 600
_CHUNK = 1 << 20


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
    # Build parameters of the kind (pq-refine) and sha256 of (face ids, vectors): what decides
    # whether a later build may reuse this FAISS part. None for the exact kinds.
    params: dict | None = None
    inputs_sha256: str | None = None

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        inner = faiss.downcast_index(self.index.index)
        if isinstance(inner, faiss.IndexRefine):
            return "pq-refine"
        if isinstance(inner, faiss.IndexScalarQuantizer):
            return "flat16"
        return "flat"

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(similarities, face ids, person ids), each (n, k'), best first; k' = min(k, ntotal).

        Missing neighbours (an approximate index may return fewer) have face id -1 and
        person id -1.
        """
        faiss.omp_set_num_threads(SEARCH_THREADS)  # this thread's setting: see SEARCH_THREADS
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

    def header(self) -> bytes:
        fields = {
            "format": FORMAT,
            "version": self.version,
            "model_id": self.model_id,
            "dim": self.dim,
            "count": self.ntotal,
            "kind": self.kind,
        }
        # Only pq-refine files carry these: what a flat file holds is unchanged since format 1.
        if self.params is not None:
            fields["params"] = self.params
        if self.inputs_sha256 is not None:
            fields["inputs_sha256"] = self.inputs_sha256
        return json.dumps(fields, sort_keys=True).encode()

    def write_to(self, stream: BinaryIO) -> str:
        """Write the file's bytes to `stream` as they are produced; returns their sha256.

        Layout: MAGIC, header length, header, FAISS body length, FAISS body, person ids. The
        body goes from FAISS to the stream in 1 MiB pieces (no serialized copy in memory); its
        length is counted by a first, discarded serialization pass.
        """
        digest = hashlib.sha256()

        def put(chunk) -> None:
            stream.write(chunk)
            digest.update(chunk)

        body_len = _serialized_size(self.index)
        header = self.header()
        put(MAGIC + struct.pack("<II", len(header), 0) + header + struct.pack("<Q", body_len))
        written = 0

        def body(chunk) -> None:
            nonlocal written
            written += len(chunk)
            put(chunk)

        faiss.write_index(self.index, faiss.PyCallbackIOWriter(body, _CHUNK))
        if written != body_len:
            raise RuntimeError(f"FAISS wrote {written} bytes, counted {body_len}")
        put(np.ascontiguousarray(self.person_ids, dtype="<i8").data)
        return digest.hexdigest()

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.write_to(buffer)
        return buffer.getvalue()


def _serialized_size(index: faiss.Index) -> int:
    size = 0

    def count(chunk) -> None:
        nonlocal size
        size += len(chunk)

    faiss.write_index(index, faiss.PyCallbackIOWriter(count, _CHUNK))
    return size


def kind_for(count: int, *, exact_max: int | None = None, float32_max: int | None = None) -> str:
    """The kind `build` makes for this many reference faces."""
    exact_max = EXACT_MAX if exact_max is None else exact_max
    float32_max = FLOAT32_MAX if float32_max is None else float32_max
    if count <= min(float32_max, exact_max):
        return "flat"
    if count <= exact_max:
        return "flat16"
    return "pq-refine"


def _params(kind: str, dim: int) -> dict | None:
    if kind != "pq-refine":
        return None
    per = PQ_DIMS_PER_SUBQUANTIZER if dim % PQ_DIMS_PER_SUBQUANTIZER == 0 else 1
    return {
        "pq_subquantizers": dim // per,
        "pq_bits": PQ_BITS,
        "train_points": PQ_TRAIN_POINTS,
        "seed": PQ_SEED,
        "refine_factor": REFINE_FACTOR,
    }


def inputs_sha256(face_ids: np.ndarray, vectors: np.ndarray) -> str:
    """sha256 of what the FAISS part is made of: the face ids and their vectors, in id order."""
    digest = hashlib.sha256(struct.pack("<QQ", len(face_ids), vectors.shape[1] if vectors.ndim == 2 else 0))
    digest.update(np.ascontiguousarray(face_ids, dtype="<i8").data)
    digest.update(np.ascontiguousarray(vectors, dtype="<f4").data)
    return digest.hexdigest()


def _new_index(kind: str, params: dict | None, vectors: np.ndarray, face_ids: np.ndarray, dim: int) -> faiss.Index:
    faiss.omp_set_num_threads(BUILD_THREADS)
    try:
        if kind == "flat":
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        elif kind == "flat16":
            index = faiss.IndexIDMap2(
                faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
            )
        else:
            assert params is not None
            base = faiss.IndexPQFastScan(dim, params["pq_subquantizers"], params["pq_bits"], faiss.METRIC_INNER_PRODUCT)
            base.pq.cp.seed = params["seed"]
            refine = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
            inner = faiss.IndexRefine(base, refine)
            inner.k_factor = params["refine_factor"]
            index = faiss.IndexIDMap2(inner)
            # A fixed stride over the faces in id order: the same faces give the same sample.
            sample = vectors[:: max(1, len(vectors) // params["train_points"])][: params["train_points"]]
            # FAISS needs a point per centroid; only a tiny forced EXACT_MAX gets here with fewer.
            sample = np.resize(sample, (max(len(sample), 1 << params["pq_bits"]), dim))
            index.train(np.ascontiguousarray(sample))
        index.add_with_ids(vectors, face_ids)
    finally:
        faiss.omp_set_num_threads(SEARCH_THREADS)
    return index


def build(
    *,
    vectors: np.ndarray,
    face_ids: np.ndarray,
    person_ids: np.ndarray,
    version: int,
    model_id: str,
    dim: int,
    exact_max: int | None = None,
    float32_max: int | None = None,
    reuse: FaceIndex | None = None,
) -> FaceIndex:
    """An index of unit vectors (inner product = cosine similarity), faces sorted by id.

    `reuse`: a previous index of the same user (loaded and verified, or held in memory). When
    it is of the kind and parameters this build makes and holds exactly these face ids and
    vectors (sha256 of both, kept in the pq-refine header), its FAISS part is shared instead
    of trained and encoded again: only the person ids differ, and the FAISS part of a fresh
    build would be byte-identical, so the file is too. The shared FAISS index is never
    modified.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    face_ids = np.asarray(face_ids, dtype=np.int64)
    person_ids = np.asarray(person_ids, dtype=np.int64)
    if not (len(vectors) == len(face_ids) == len(person_ids)):
        raise ValueError("one face id and one person id per vector are needed")
    order = np.argsort(face_ids, kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        vectors, face_ids, person_ids = vectors[order], face_ids[order], person_ids[order]
    if len(np.unique(face_ids)) != len(face_ids):
        raise ValueError("face ids must be unique")
    kind = kind_for(len(vectors), exact_max=exact_max, float32_max=float32_max)
    params = _params(kind, dim)
    digest = inputs_sha256(face_ids, vectors) if kind in REUSABLE_KINDS else None
    if (
        reuse is not None
        and digest is not None
        and reuse.kind == kind
        and reuse.dim == dim
        and reuse.params == params
        and reuse.inputs_sha256 == digest
        and np.array_equal(reuse.face_ids, face_ids)
    ):
        index = reuse.index
    else:
        index = _new_index(kind, params, vectors, face_ids, dim)
    return FaceIndex(
        index=index,
        face_ids=face_ids,
        person_ids=person_ids,
        version=version,
        model_id=model_id,
        dim=dim,
        params=params,
        inputs_sha256=digest,
    )


def _read(stream: BinaryIO, size: int) -> FaceIndex:
    """Parse a whole file from `stream` (`size` bytes); IndexUnusable if it is not one.

    FAISS reads the body straight from the stream, so loading holds the index once.
    """
    try:
        if stream.read(len(MAGIC)) != MAGIC:
            raise IndexUnusable("not an index file")
        header_len, _ = struct.unpack("<II", stream.read(8))
        header = json.loads(stream.read(header_len))
        (body_len,) = struct.unpack("<Q", stream.read(8))
        body_start = len(MAGIC) + 8 + header_len + 8
        count = int(header["count"])
        if header.get("format") != FORMAT or size != body_start + body_len + 8 * count:
            raise IndexUnusable("truncated or unknown format")
        index = faiss.read_index(faiss.PyCallbackIOReader(stream.read, _CHUNK))
        if stream.tell() != body_start + body_len:
            raise IndexUnusable("index body and its recorded length disagree")
        person_ids = np.frombuffer(stream.read(8 * count), dtype="<i8").astype(np.int64)
    except IndexUnusable:
        raise
    # FAISS raises RuntimeError on a damaged body; struct/json/numpy raise their own types.
    except (RuntimeError, ValueError, KeyError, TypeError, struct.error) as exc:
        raise IndexUnusable(f"unreadable index: {type(exc).__name__}: {exc}") from exc
    if index.ntotal != count or index.d != int(header["dim"]) or not isinstance(index, faiss.IndexIDMap2):
        raise IndexUnusable("header and index disagree")
    face_ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    return FaceIndex(
        index=index,
        face_ids=face_ids,
        person_ids=person_ids,
        version=int(header["version"]),
        model_id=str(header["model_id"]),
        dim=int(header["dim"]),
        params=header.get("params"),
        inputs_sha256=header.get("inputs_sha256"),
    )


def from_bytes(data: bytes) -> FaceIndex:
    """Parse a file's bytes; raises IndexUnusable for anything that is not a whole index."""
    return _read(io.BytesIO(data), len(data))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def index_path(root: str | os.PathLike[str], user_id: int) -> Path:
    return Path(root) / str(int(user_id)) / FILE_NAME


def save(face_index: FaceIndex, path: str | os.PathLike[str]) -> str:
    """Write atomically (temp file, fsync, os.replace, directory fsync); returns the sha256.

    The bytes are streamed to the temp file and hashed on the way (no copy of the index in
    memory). A crash at any point leaves either the previous file or the new one, never a mix.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            checksum = face_index.write_to(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(path.parent)
    return checksum


def load(path: str | os.PathLike[str], *, expected_sha256: str, expected_version: int, model_id: str) -> FaceIndex:
    """Read and verify a file against what the database recorded; IndexUnusable if it differs.

    The sha256 is checked in a first streaming pass, before FAISS parses a byte; the second
    pass reads the same open file (an os.replace in between does not change what is read).
    """
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        raise IndexUnusable("missing") from None
    with stream:
        digest = hashlib.sha256()
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
        if not expected_sha256 or digest.hexdigest() != expected_sha256:
            raise IndexUnusable("checksum mismatch")
        size = stream.tell()
        stream.seek(0)
        face_index = _read(stream, size)
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
