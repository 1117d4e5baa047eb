"""The process-wide face engine, configured from Django settings.

Loaded on first use, not at import: web processes that never detect faces never load
insightface/onnxruntime or the models. One engine per process (each Celery worker child loads
its own), shared by all threads.

Settings (all optional):
    SMARTGALLERY_FACE_PACK       pack folder or InsightFace pack name (default buffalo_l)
    SMARTGALLERY_ORT_THREADS     onnxruntime intra-op threads per session (default 1)
    SMARTGALLERY_FACE_MIN_SCORE  detections below this score are dropped (default 0.5)
    SMARTGALLERY_FACE_MIN_SIZE   faces smaller than this (px) are kept but not embedded
    SMARTGALLERY_FACE_DET_SIZE   detector input size in px (default 640)
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from faces import engine as face_engine

logger = logging.getLogger(__name__)

# After a failed load the pack is not tried again for this long: a batch of photos with no
# usable pack costs one attempt (and one download try of a pack name) a minute, not one a
# photo, and a pack put in place meanwhile is still picked up without a restart.
RETRY_LOAD_AFTER_SECONDS = 60.0

_engine: face_engine.FaceEngine | None = None
_failure: tuple[float, face_engine.FaceEngineError] | None = None
_engine_lock = threading.Lock()


def get_engine() -> face_engine.FaceEngine:
    """The engine of this process; loads it on the first call (raises FaceEngineError)."""
    global _engine, _failure
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                if _failure is not None and time.monotonic() - _failure[0] < RETRY_LOAD_AFTER_SECONDS:
                    raise face_engine.FaceEngineError(_failure[1].problem, advice=_failure[1].advice)
                try:
                    _engine = face_engine.load_engine(**engine_options())
                except face_engine.FaceEngineError as exc:
                    # The operator's one full account of it; the photos only say they have no faces.
                    logger.error("Face detection is off: %s", exc)
                    _failure = (time.monotonic(), exc)
                    raise
                _failure = None
    return _engine


def engine_options() -> dict:
    """Keyword arguments for `faces.engine.load_engine`, read from the settings."""
    return {
        "pack": getattr(settings, face_engine.PACK_SETTING, face_engine.DEFAULT_PACK),
        "ort_threads": int(getattr(settings, "SMARTGALLERY_ORT_THREADS", face_engine.DEFAULT_ORT_THREADS)),
        "min_score": float(getattr(settings, "SMARTGALLERY_FACE_MIN_SCORE", face_engine.DEFAULT_MIN_SCORE)),
        "min_face_px": int(getattr(settings, "SMARTGALLERY_FACE_MIN_SIZE", face_engine.DEFAULT_MIN_FACE_PX)),
        "det_size": int(getattr(settings, "SMARTGALLERY_FACE_DET_SIZE", face_engine.DEFAULT_DET_SIZE)),
    }


def reset_engine() -> None:
    """Forget the loaded engine (tests that change the settings; a pack swap in a shell)."""
    global _engine, _failure
    with _engine_lock:
        _engine = None
        _failure = None
