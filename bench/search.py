"""Speed, recall and memory of the per-user face index (faces/index.py) on synthetic faces.

Prints one JSON line to stdout (progress goes to stderr). No Django: the index module is shared
by workers, commands and this script, so what is timed is what production runs.

For each size (faces of one user) the script makes clustered unit vectors: one identity per
~30 faces, each face its identity's centre plus Gaussian noise scaled so that two faces of the
same person have cosine similarity ~0.6 (what a 512-d ArcFace gives for one person). Queries
are fresh faces of known identities, searched one at a time for the k nearest reference faces,
as `faces.recognition` does (k = 32, its default neighbour count).

Variants per size, each built, saved, loaded (checksum verified) and searched through
faces/index.py (`build`, `save`, `load`, `FaceIndex.search`); the one production builds at
that size (`face_index.kind_for`, default thresholds) is marked "production": true:

    flat       exact float32 scan (IndexFlatIP): production up to FLOAT32_MAX (50,000)
    flat16     exact fp16 scan (IndexScalarQuantizer QT_fp16): production up to EXACT_MAX
    pq-refine  PQ 4-bit fast scan, REFINE_FACTOR * k candidates re-ranked in fp16: above
    hnsw       the HNSW graph production built above 50,000 before (M 32, efConstruction 80,
               efSearch 128, one thread; only with --variants, slow at 1M)
    ivf        IndexIVFScalarQuantizer fp16, nlist/nprobe as given (only with --variants)
    (hnsw and ivf are not built by faces/index.py any more: they are wrapped in its FaceIndex
    so they are saved, loaded and searched the same way)

Recall@k of every variant is measured against IndexFlatIP on the same data. `rebuild_s` is
build + save (fsync included): what a correction that adds or removes a reference costs once
the database rows are read. `relabel_s` is `build(reuse=<loaded index>)` with other person ids
+ save: a label-only correction (reassign, merge); pq-refine reuses its FAISS part there.
Searches run on face_index.SEARCH_THREADS (1) OpenMP threads, as in production.
Memory: the file size and the RSS growth while the loaded index is held (`rss_index_mib`), and
the peak RSS growth during build + save (`peak_build_save_mib`), over the synthetic data held.

    .venv/bin/python -m bench.search                      # 10K, 100K, 1M (~5-8 min, 2 cores)
    .venv/bin/python -m bench.search --quick              # 10K and 100K
    .venv/bin/python -m bench.search --sizes 300000,400000 --variants flat16,pq-refine
    .venv/bin/python -m bench.search --search-threads 2   # FAISS's default on 2 cores
    .venv/bin/python -m bench.search --sizes 100000 --variants hnsw,ivf --ivf-nlist 1024 --ivf-nprobe 256
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import faiss
import numpy as np

from faces import index as face_index

MODEL_ID = "bench:synthetic"
VERSION = 1
# The first searches fault in pages and warm caches; they are not what a warm worker sees.
WARMUP_QUERIES = 10
# Timed queries stop early after this many when the time budget runs out, so p99 stays a
# percentile of something (exact search at 1M takes ~0.1-0.2 s a query on 2 cores).
MIN_TIMED_QUERIES = 50


def log(message: str) -> None:
    print(f"[search-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- memory ---------------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def release_freed_memory() -> None:
    """Hand freed heap pages back to the OS, so an RSS delta counts live memory only.

    After large frees glibc raises its mmap threshold and keeps later frees in the heap; without
    a trim, one variant's freed index hides the next one's growth.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rss_mib() -> float:
    release_freed_memory()
    return _status_kib("VmRSS") / 1024


def reset_peak_rss() -> None:
    """Reset VmHWM so the next peak is this phase's, not the data generation's."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mib() -> float:
    return _status_kib("VmHWM") / 1024


# --- data -----------------------------------------------------------------------------------


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix


def noise_sigma(dim: int, same_person_similarity: float) -> float:
    """Per-dimension noise giving two faces of one identity this expected cosine similarity.

    Two samples c + e1, c + e2 with |c| = 1 and e ~ N(0, s^2 I) have cosine ~ 1 / (1 + d s^2).
    """
    return math.sqrt((1.0 / same_person_similarity - 1.0) / dim)


def synthetic_faces(
    n: int, queries: int, *, dim: int, per_identity: int, similarity: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reference vectors, their identity, query vectors); queries are unseen faces of known people."""
    rng = np.random.default_rng(seed)
    identities = max(1, n // per_identity)
    sigma = noise_sigma(dim, similarity)
    centres = unit_rows(rng.standard_normal((identities, dim), dtype=np.float32))
    labels = rng.integers(0, identities, n)
    vectors = centres[labels]
    # In chunks: one (1M, 512) float32 noise array would be another 2 GB at peak.
    for start in range(0, n, 100_000):
        chunk = vectors[start : start + 100_000]
        chunk += sigma * rng.standard_normal(chunk.shape, dtype=np.float32)
        unit_rows(chunk)
    query_vectors = centres[rng.integers(0, identities, queries)]
    query_vectors += sigma * rng.standard_normal(query_vectors.shape, dtype=np.float32)
    return vectors, labels.astype(np.int64), unit_rows(query_vectors)


def measured_same_person_similarity(vectors: np.ndarray, labels: np.ndarray, pairs: int = 2000) -> float:
    """Mean cosine of pairs of faces of one identity: checks the noise level gives ~0.6."""
    order = np.argsort(labels, kind="stable")
    same = np.flatnonzero(labels[order][1:] == labels[order][:-1])[:pairs]
    a, b = vectors[order[same]], vectors[order[same + 1]]
    return float(np.mean(np.sum(a * b, axis=1)))


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Ground truth: similarities and face ids (= row numbers) of the k nearest, brute force."""
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return flat.search(queries, k)


# --- index variants ---------------------------------------------------------------------------


# What `face_index.build` is told to force each kind regardless of size.
FORCE = {
    "flat": lambda n: {"float32_max": n, "exact_max": n},
    "flat16": lambda n: {"float32_max": 0, "exact_max": n},
    "pq-refine": lambda n: {"exact_max": 0},
}


def build_kind(
    kind: str, vectors: np.ndarray, labels: np.ndarray, reuse: face_index.FaceIndex | None = None
) -> face_index.FaceIndex:
    return face_index.build(
        vectors=vectors,
        face_ids=np.arange(len(vectors), dtype=np.int64),
        person_ids=labels,
        version=VERSION,
        model_id=MODEL_ID,
        dim=vectors.shape[1],
        reuse=reuse,
        **FORCE[kind](len(vectors)),
    )


def build_hnsw(vectors: np.ndarray, labels: np.ndarray, args: argparse.Namespace) -> face_index.FaceIndex:
    """The graph production built above 50,000 faces before the pq-refine kind."""
    dim = vectors.shape[1]
    inner = faiss.IndexHNSWFlat(dim, args.hnsw_m, faiss.METRIC_INNER_PRODUCT)
    inner.hnsw.efConstruction = args.hnsw_ef_construction
    inner.hnsw.efSearch = args.hnsw_ef_search
    index = faiss.IndexIDMap2(inner)
    face_ids = np.arange(len(vectors), dtype=np.int64)
    faiss.omp_set_num_threads(1)  # parallel insertion is not deterministic
    index.add_with_ids(vectors, face_ids)
    return face_index.FaceIndex(
        index=index, face_ids=face_ids, person_ids=labels, version=VERSION, model_id=MODEL_ID, dim=dim
    )


def kind_of(built: face_index.FaceIndex) -> str:
    """The kind's name: faces/index.py names those it builds, the two wrapped here are named here."""
    inner = faiss.downcast_index(built.index.index)
    if hasattr(inner, "hnsw"):
        return "hnsw"  # efSearch travels in the file, so the loaded graph searches as built
    if isinstance(inner, faiss.IndexIVF):
        return "ivf"
    return built.kind


def ivf_nlist(n: int, requested: int) -> int:
    """Inverted lists: as asked, else ~4 sqrt(n)."""
    return requested if requested > 0 else max(64, int(4 * math.sqrt(n)))


def build_ivf(vectors: np.ndarray, labels: np.ndarray, nlist: int, nprobe: int) -> face_index.FaceIndex:
    """IVF over fp16 codes, trained (10 k-means iterations, seed 1234) on a fixed stride sample
    of 39 faces per list, one thread: the deterministic variant that was tried for large users."""
    dim = vectors.shape[1]
    sample = vectors[:: max(1, len(vectors) // (39 * nlist))][: 39 * nlist]
    quantizer = faiss.IndexFlatIP(dim)
    inner = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, nlist, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    inner.cp.niter = 10
    inner.cp.seed = 1234
    inner.nprobe = nprobe
    index = faiss.IndexIDMap2(inner)
    faiss.omp_set_num_threads(1)
    index.train(np.ascontiguousarray(sample))
    face_ids = np.arange(len(vectors), dtype=np.int64)
    index.add_with_ids(vectors, face_ids)
    return face_index.FaceIndex(
        index=index, face_ids=face_ids, person_ids=labels, version=VERSION, model_id=MODEL_ID, dim=dim
    )


# --- measurements -------------------------------------------------------------------------------


def percentile_ms(seconds: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(seconds) * 1000, q)), 3)


def time_queries(
    loaded: face_index.FaceIndex, queries: np.ndarray, k: int, budget_s: float
) -> tuple[dict, np.ndarray, np.ndarray]:
    """One face per search, as recognition queries; returns latency summary, result face ids and best person.

    The first WARMUP_QUERIES rows only warm up; results line up with the ground truth, which
    covers the rows after them.
    """
    for row in queries[:WARMUP_QUERIES]:
        loaded.search(row[None, :], k)
    timings, results, persons = [], [], []
    deadline = time.perf_counter() + budget_s
    for count, row in enumerate(queries[WARMUP_QUERIES:]):
        started = time.perf_counter()
        _, ids, person_ids = loaded.search(row[None, :], k)
        timings.append(time.perf_counter() - started)
        results.append(ids[0])
        persons.append(person_ids[0, 0])
        if count + 1 >= MIN_TIMED_QUERIES and time.perf_counter() > deadline:
            break
    summary = {
        "queries_timed": len(timings),
        "p50_ms": percentile_ms(timings, 50),
        "p99_ms": percentile_ms(timings, 99),
        "mean_ms": round(1000 * float(np.mean(timings)), 3),
    }
    return summary, np.array(results), np.array(persons)


def recall(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean share of the exact k nearest that the index returned among its k."""
    # Fewer queries may have been timed than have ground truth (the time budget ran out).
    hits = [len(np.intersect1d(f[:k], t[:k])) for f, t in zip(found, truth[: len(found)], strict=True)]
    return round(float(np.mean(hits)) / k, 4)


def recall_above(found: np.ndarray, truth: np.ndarray, truth_sims: np.ndarray, floor: float) -> float:
    """Share of the exact neighbours at or above `floor` that the index returned.

    Below the suggest threshold a neighbour changes no decision; with ~30 faces per identity
    the last of k = 32 are often strangers at ~0.2 among thousands of near-ties, which an
    approximate index cannot rank exactly and recognition does not need.
    """
    wanted = found_count = 0
    for f, t, sims in zip(found, truth[: len(found)], truth_sims[: len(found)], strict=True):
        relevant = t[sims >= floor]
        wanted += len(relevant)
        found_count += len(np.intersect1d(f, relevant))
    return round(found_count / wanted, 4) if wanted else 1.0


def measure_variant(
    name: str,
    make: Callable[[], face_index.FaceIndex],
    relabel: Callable[[face_index.FaceIndex, np.ndarray], face_index.FaceIndex | None],
    queries: np.ndarray,
    truth: tuple[np.ndarray, np.ndarray],
    labels: np.ndarray,
    args: argparse.Namespace,
    folder: Path,
) -> dict:
    """Build, save, load (checksum verified) and search one index; free it before returning."""
    truth_sims, truth = truth
    rss_before = rss_mib()
    reset_peak_rss()
    started = time.perf_counter()
    built = make()
    build_s = time.perf_counter() - started
    kind, ntotal = kind_of(built), built.ntotal
    path = face_index.index_path(folder, 1)
    started = time.perf_counter()
    checksum = face_index.save(built, path)
    save_s = time.perf_counter() - started
    peak_build_save = peak_rss_mib() - rss_before
    del built
    rss_before_load = rss_mib()
    started = time.perf_counter()
    loaded = face_index.load(path, expected_sha256=checksum, expected_version=VERSION, model_id=MODEL_ID)
    load_s = time.perf_counter() - started
    rss_index = rss_mib() - rss_before_load
    latency, found, best_person = time_queries(loaded, queries, args.k, args.query_seconds)
    # A label-only correction: the same faces, other persons, from the loaded index.
    relabelled_persons = (labels + 1) % (labels.max() + 1)
    started = time.perf_counter()
    relabelled = relabel(loaded, relabelled_persons)
    relabel_s = None
    if relabelled is not None:
        face_index.save(relabelled, path)
        relabel_s = round(time.perf_counter() - started, 3)
        del relabelled
    result = {
        "variant": name,
        "kind": kind,
        "production": kind == face_index.kind_for(ntotal, exact_max=args.exact_max),
        "faces": ntotal,
        "build_s": round(build_s, 3),
        "save_s": round(save_s, 3),
        "rebuild_s": round(build_s + save_s, 3),
        "relabel_s": relabel_s,
        "load_s": round(load_s, 3),
        **latency,
        f"recall_at_{args.k}": recall(found, truth, args.k),
        "recall_at_1": recall(found, truth, 1),
        f"recall_above_{args.similarity_floor}": recall_above(found, truth, truth_sims, args.similarity_floor),
        # Recognition decides on the best person: does the index agree with exact search?
        "top_person_agreement": round(float(np.mean(best_person == labels[truth[: len(best_person), 0]])), 4),
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "rss_index_mib": round(rss_index, 1),
        "peak_build_save_mib": round(peak_build_save, 1),
    }
    del loaded
    path.unlink()
    log(f"  {name}: {json.dumps(result)}")
    return result


Builder = Callable[[np.ndarray, np.ndarray], face_index.FaceIndex]  # (vectors, person ids)
Relabel = Callable[[face_index.FaceIndex, np.ndarray], face_index.FaceIndex | None]


def variants_for(size: int, args: argparse.Namespace, vectors: np.ndarray) -> list[tuple[str, Builder, Relabel]]:
    """The (name, builder, relabel) triples to measure at this size."""
    chosen = []
    wanted = args.variants.split(",")
    for kind in FORCE:
        if kind in wanted:
            chosen.append(
                (
                    kind,
                    lambda v, labels, kind=kind: build_kind(kind, v, labels),
                    lambda loaded, labels, kind=kind: build_kind(kind, vectors, labels, reuse=loaded),
                )
            )
    if "hnsw" in wanted and size <= args.hnsw_max_size:
        chosen.append(("hnsw", lambda v, labels: build_hnsw(v, labels, args), lambda loaded, labels: None))
    if "ivf" in wanted:
        nlist = ivf_nlist(size, args.ivf_nlist)
        nprobe = min(nlist, args.ivf_nprobe)
        chosen.append(
            (
                f"ivf{nlist}_nprobe{nprobe}",
                lambda v, labels: build_ivf(v, labels, nlist, nprobe),
                lambda loaded, labels: None,
            )
        )
    return chosen


def measure_size(size: int, args: argparse.Namespace, folder: Path) -> dict:
    log(f"{size} faces: generating")
    started = time.perf_counter()
    vectors, labels, queries = synthetic_faces(
        size,
        args.queries + WARMUP_QUERIES,
        dim=args.dim,
        per_identity=args.faces_per_identity,
        similarity=args.same_person_similarity,
        seed=args.seed + size,
    )
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # ground truth only; searches use one thread
    truth_sims, truth = exact_neighbours(vectors, queries[WARMUP_QUERIES:], args.k)
    faiss.omp_set_num_threads(face_index.SEARCH_THREADS)
    log(f"{size} faces: data and ground truth in {time.perf_counter() - started:.1f}s")
    production = face_index.kind_for(size, exact_max=args.exact_max)
    result = {
        "faces": size,
        "identities": max(1, size // args.faces_per_identity),
        "same_person_similarity": round(measured_same_person_similarity(vectors, labels), 3),
        "production_kind": production,
        "variants": [],
    }
    if "hnsw" in args.variants and size > args.hnsw_max_size:
        result["hnsw_skipped"] = f"over --hnsw-max-size {args.hnsw_max_size} (single-threaded build)"
    for name, builder, relabel in variants_for(size, args, vectors):
        variant = measure_variant(
            name, lambda b=builder: b(vectors, labels), relabel, queries, (truth_sims, truth), labels, args, folder
        )
        result["variants"].append(variant)
    return result


# --- command line -------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="faces per user, comma separated")
    parser.add_argument("--quick", action="store_true", help="10K and 100K only")
    parser.add_argument("--queries", type=int, default=1000, help="single-face queries per variant")
    parser.add_argument(
        "--query-seconds",
        type=float,
        default=20.0,
        help="stop timing a variant's queries after this long (at least 50 queries)",
    )
    parser.add_argument("--k", type=int, default=32, help="neighbours per query (recognition's default)")
    parser.add_argument(
        "--similarity-floor",
        type=float,
        default=0.35,
        help="recall is also measured over exact neighbours at least this similar "
        "(0.35: the 512-d pack's suggest threshold, faces/packs/thresholds.json)",
    )
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--faces-per-identity", type=int, default=30)
    parser.add_argument("--same-person-similarity", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default="flat,flat16,pq-refine", help="any of flat,flat16,pq-refine,hnsw,ivf")
    parser.add_argument(
        "--search-threads",
        type=int,
        default=face_index.SEARCH_THREADS,
        help=f"OpenMP threads per search (production: {face_index.SEARCH_THREADS})",
    )
    parser.add_argument(
        "--exact-max",
        type=int,
        default=face_index.EXACT_MAX,
        help="which kind is marked production (SMARTGALLERY_INDEX_EXACT_MAX)",
    )
    parser.add_argument(
        "--hnsw-max-size",
        type=int,
        default=100_000,
        help="skip the HNSW build above this size (1M takes many minutes on 1 thread)",
    )
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--hnsw-ef-construction", type=int, default=80)
    parser.add_argument("--hnsw-ef-search", type=int, default=128)
    parser.add_argument("--ivf-nlist", type=int, default=0, help="0: ~4 sqrt(faces)")
    parser.add_argument("--ivf-nprobe", type=int, default=256)
    parser.add_argument("--dir", default=None, help="where index files are written (default: a temp dir)")
    args = parser.parse_args()
    if args.quick:
        args.sizes = "10000,100000"
    return args


def environment() -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "omp_max_threads": faiss.omp_get_max_threads(),
        "faiss": version("faiss-cpu"),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    args = parse_args()
    face_index.SEARCH_THREADS = args.search_threads
    faiss.omp_set_num_threads(args.search_threads)
    sizes = [int(size) for size in args.sizes.split(",") if size]
    folder = Path(args.dir or tempfile.mkdtemp(prefix="sg-bench-search-"))
    started = time.perf_counter()
    try:
        results = [measure_size(size, args, folder) for size in sizes]
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    report = {
        "bench": "search",
        "command": " ".join(["python", "-m", "bench.search", *sys.argv[1:]]),
        **environment(),
        "search_threads": face_index.SEARCH_THREADS,
        "float32_max": face_index.FLOAT32_MAX,
        "exact_max": args.exact_max,
        "pq_refine": face_index._params("pq-refine", args.dim),
        "k": args.k,
        "dim": args.dim,
        "queries": args.queries,
        "sizes": results,
        "total_s": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
