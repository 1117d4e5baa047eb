"""Speed and memory of the face engine (faces/engine.py) on this machine, without Django.

Prints one JSON line. Two photo sets: the shared labelled photos (../shared/faces, mostly
small) and 12 MP JPEGs made from some of them (upscaled to 4000x3000 into a temporary folder).
Each (photo set, onnxruntime threads) run is a fresh child process, so thread settings and
resident memory do not leak between runs.

Per run: photos/s and ms per photo (p50/p95) for decode + EXIF transpose + detect + embed (what
a worker does per photo) and for `detect` alone; ms per face for embedding one aligned crop,
and per face when a photo's faces go as one batch; RSS after loading and after the photos.

    .venv/bin/python -m bench.engine [--pack DIR] [--threads 1,2] [--large 20]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from bench import _common as common

LARGE_SIZE = (4000, 3000)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _summary(timings_ms: list[float]) -> dict:
    return {
        "p50_ms": round(statistics.median(timings_ms), 1),
        "p95_ms": round(_percentile(timings_ms, 0.95), 1),
        "photos_per_s": round(1000 * len(timings_ms) / sum(timings_ms), 1),
    }


def _measure(pack: str, photos: list[str], threads: int, queue) -> None:
    rss_start = common.rss_mib(os.getpid())
    import warnings

    from insightface.utils import face_align

    from faces.engine import load_engine, load_upright_rgb

    started = time.perf_counter()
    engine = load_engine(pack, ort_threads=threads)
    load_s = time.perf_counter() - started
    rss_loaded = common.rss_mib(os.getpid())

    for path in photos[:2]:  # warm-up: first runs allocate session buffers
        engine.detect(load_upright_rgb(path))
    total_ms, detect_ms, faces, single_ms, batch_ms = [], [], 0, [], []
    for path in photos:
        started = time.perf_counter()
        image = load_upright_rgb(path)
        decoded = time.perf_counter()
        found = engine.detect(image)
        finished = time.perf_counter()
        total_ms.append((finished - started) * 1000)
        detect_ms.append((finished - decoded) * 1000)
        faces += len(found)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"`estimate` is deprecated", category=FutureWarning)
            crops = [face_align.norm_crop(image, face.landmarks) for face in found]
        if not crops:
            continue
        for crop in crops:
            started = time.perf_counter()
            engine.embed_aligned([crop])
            single_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        engine.embed_aligned(crops)
        batch_ms.append((time.perf_counter() - started) * 1000 / len(crops))
    queue.put(
        {
            "ort_threads": threads,
            "photos": len(photos),
            "faces": faces,
            "load_s": round(load_s, 2),
            "per_photo": _summary(total_ms),
            "detect_only": _summary(detect_ms),
            "embed_ms_per_face": round(statistics.median(single_ms), 2),
            "embed_ms_per_face_batched": round(statistics.median(batch_ms), 2),
            "rss_mib": {"start": rss_start, "after_load": rss_loaded, "after_photos": common.rss_mib(os.getpid())},
            "model_id": engine.model_id,
            "providers": engine.providers,
        }
    )


def _make_large_photos(sources: list[str], folder: Path) -> list[str]:
    import cv2

    made = []
    for index, source in enumerate(sources):
        image = cv2.imread(source)
        size = LARGE_SIZE if image.shape[1] >= image.shape[0] else LARGE_SIZE[::-1]
        path = folder / f"large_{index:03d}.jpg"
        cv2.imwrite(str(path), cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), [cv2.IMWRITE_JPEG_QUALITY, 90])
        made.append(str(path))
    return made


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pack", default=str(common.SHARED / "models" / "face_default"))
    parser.add_argument("--threads", default="1,2", help="onnxruntime thread counts to compare")
    parser.add_argument("--large", type=int, default=20, help="how many 12 MP photos to make")
    args = parser.parse_args()

    faces_dir = common.SHARED / "faces"
    shared = [str(p) for p in sorted(faces_dir.glob("*/*")) if p.suffix.lower() in {".jpg", ".png"}]
    step = max(1, len(shared) // max(1, args.large))
    context = multiprocessing.get_context("spawn")
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as tmp:
        large = _make_large_photos(shared[::step][: args.large], Path(tmp))
        for label, photos in (("shared_faces", shared), ("12mp_jpeg", large)):
            for threads in (int(t) for t in args.threads.split(",")):
                queue = context.Queue()
                child = context.Process(target=_measure, args=(args.pack, photos, threads, queue))
                child.start()
                result = queue.get()
                child.join()
                runs.append({"photo_set": label, **result})
    print(
        json.dumps(
            {
                "bench": "face_engine",
                "cpu": _cpu_model(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "onnxruntime": version("onnxruntime"),
                "insightface": version("insightface"),
                "pack": args.pack,
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()
