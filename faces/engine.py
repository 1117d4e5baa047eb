"""The face engine: find faces in an upright RGB photo and embed them, with InsightFace models.

No Django here, so workers, management commands, tests and benchmarks share it and it imports
fast. insightface and onnxruntime are imported only inside `load_engine`, so a web process that
imports this module (or `faces.engine_loader`) never pays for them.

Coordinates: every box and landmark is in pixels of the full-resolution *upright* image (apply
EXIF orientation first, e.g. with `load_upright_rgb`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np
import pillow_heif
from PIL import Image, ImageOps

from faces.calibration import PackThresholds, thresholds_for_pack
from faces.quality import frontalness, sharpness

logger = logging.getLogger(__name__)

# HEIC photos (iPhones) open like any other, also where the gallery's upload code is not loaded
# (calibrate_faces, the benchmarks).
pillow_heif.register_heif_opener()

PACK_SETTING = "SMARTGALLERY_FACE_PACK"
DEFAULT_PACK = "buffalo_l"
DEFAULT_MODELS_ROOT = "~/.insightface"
DEFAULT_DET_SIZE = 640
DEFAULT_ORT_THREADS = 1
# insightface's own default detection threshold (FaceAnalysis.prepare(det_thresh=0.5)); on the
# shared set it finds every tagged face and nothing on the no-face photos.
DEFAULT_MIN_SCORE = 0.5
# Below this short side (pixels of the original photo) a face is kept but not embedded: the
# aligned 112x112 crop would be mostly interpolation and its embedding unreliable.
# PhotoPrism uses 50 px (PHOTOPRISM_FACE_SIZE); we keep somewhat smaller faces since the user
# can still see and tag them.
DEFAULT_MIN_FACE_PX = 32

# Fraction of each side added around the photo for the second detection attempt: SCRFD misses
# faces that fill the frame, and padding makes them look like ordinary faces. Only used when
# the first pass finds nothing, because padding shrinks small faces in group photos.
RETRY_PAD_FRACTION = 0.3
# Warping a large face straight down to 112 px with bilinear sampling aliases; above this
# downscale factor the face region is first shrunk with area interpolation.
MAX_WARP_DOWNSCALE = 2.0
RECOGNITION_MODULES = ["detection", "recognition"]

# A face the user drew (faces/drawing.py): the detector looks again inside the box enlarged this
# many times (about its centre, clamped to the photo), so a face that fills the box is seen
# with the context SCRFD expects around a face.
DRAWN_SEARCH_FACTOR = 2.0
# ...and with a lower bar than for a whole photo: the user says there is a face, so a weaker
# detection whose centre lies in the box is taken for its landmarks.
DRAWN_MIN_SCORE = 0.3


class FaceEngineError(Exception):
    """The engine could not be loaded or used; the message says what to change.

    `problem` is what went wrong and `advice` what to do about it, apart, so `check_face_pack`
    can say them in its own words; str() of the error is both."""

    def __init__(self, problem: str, *, advice: str = "") -> None:
        super().__init__(f"{problem} {advice}".strip())
        self.problem = problem
        self.advice = advice


@dataclass(frozen=True, eq=False)
class DetectedFace:
    """One face found in a photo.

    `embedding` is None for faces smaller than the engine's minimum size: such faces are kept
    (the user can still see and tag them) but stay out of automatic recognition.
    """

    box: tuple[float, float, float, float]  # x1, y1, x2, y2, clipped to the image
    landmarks: np.ndarray  # (5, 2) float32: eyes, nose, mouth corners
    det_score: float
    embedding: np.ndarray | None  # (dim,) float32, L2-normalised
    size_px: float  # short side of the box
    sharpness: float  # Laplacian variance of the aligned grey crop
    frontalness: float  # 0..1, see faces.quality.frontalness

    @property
    def recognisable(self) -> bool:
        return self.embedding is not None

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return (x2 - x1) * (y2 - y1)


@dataclass(frozen=True, eq=False)
class DrawnFace:
    """What the engine made of a box the user drew around a face.

    `landmarks_found`: the detector found the face in (or around) the box, and the embedding
    comes from the aligned crop like any detected face's; `face.box` is then the detector's
    box. Otherwise the embedding comes from a centred square crop of the user's box, without
    alignment: on the shared set such an embedding matches the same face aligned at a median
    similarity of 0.60 (1.0 would be the same), and finds the right person as the nearest face
    91% of the time against 100% aligned (docs/PEOPLE.md "Draw a face"); `face.landmarks` is
    then empty and `face.det_score` 0.
    """

    face: DetectedFace
    landmarks_found: bool


def load_upright_rgb(path_or_file: str | os.PathLike[str] | IO[bytes]) -> np.ndarray:
    """Decode a photo into an (H, W, 3) uint8 RGB array (read-only) with its EXIF orientation applied."""
    with Image.open(path_or_file) as image:
        # In place and convert only when needed: each copy of a 12 MP photo costs ~20 ms.
        ImageOps.exif_transpose(image, in_place=True)
        return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


class FaceEngine:
    """Detector + recogniser of one model pack. Build it with `load_engine`.

    `detect` is safe to call from several threads: it keeps no per-call state and
    onnxruntime sessions may be run concurrently.
    """

    def __init__(
        self,
        *,
        detector: Any,
        recogniser: Any,
        pack_name: str,
        recogniser_sha256: str,
        min_score: float,
        min_face_px: int,
        det_size: int,
    ) -> None:
        self._detector = detector
        self._recogniser = recogniser
        self._crop_size = int(recogniser.input_size[0])
        # A fixed batch dimension (e.g. an export with input 1x3x112x112) must be fed one face
        # at a time; a dynamic one takes all faces of a photo in one run.
        self._batched = not isinstance(recogniser.input_shape[0], int)
        self.pack_name = pack_name
        self.model_id = f"{pack_name}:{recogniser_sha256[:12]}"
        self.min_score = min_score
        self.min_face_px = min_face_px
        self.det_size = det_size
        self.providers: list[str] = list(recogniser.session.get_providers())
        blank = np.zeros((self._crop_size, self._crop_size, 3), dtype=np.uint8)
        self.dim = int(self.embed_aligned([blank]).shape[1])
        self.thresholds: PackThresholds = thresholds_for_pack(
            model_id=self.model_id,
            pack_name=pack_name,
            recogniser_file=Path(recogniser.model_file).name,
        )

    def __repr__(self) -> str:
        return f"<FaceEngine {self.model_id} dim={self.dim}>"

    def detect(self, image: np.ndarray, *, min_score: float | None = None) -> list[DetectedFace]:
        """Find the faces in an upright RGB image, strongest detection first."""
        _check_rgb(image)
        min_score = self.min_score if min_score is None else min_score
        height, width = image.shape[:2]
        if self._too_thin(height, width):
            return []
        scale = min(1.0, self.det_size / max(height, width))
        if scale < 1.0:
            # Area interpolation averages the pixels away instead of skipping them, which
            # SCRFD's own (bilinear) letterbox resize would do on a 12 MP photo.
            small = cv2.resize(
                image,
                (max(1, round(width * scale)), max(1, round(height * scale))),
                interpolation=cv2.INTER_AREA,
            )
        else:
            small = image
        boxes, landmarks = self._run_detector(small, min_score)
        if len(boxes) == 0:
            boxes, landmarks = self._run_detector_padded(small, min_score)
        # Map back to the original pixel grid using the real resize ratios per axis.
        factors = np.array([width / small.shape[1], height / small.shape[0]], dtype=np.float32)
        landmarks = landmarks * factors
        scores = boxes[:, 4]
        boxes = boxes[:, :4] * np.tile(factors, 2)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, width)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, height)
        return self._describe_faces(image, boxes, landmarks, scores)

    def _too_thin(self, height: int, width: int) -> bool:
        """A strip (3200x4, 1300x2) that SCRFD would squash to under 2 px across.

        SCRFD letterboxes into det_size x det_size keeping the aspect ratio, and the retry
        first pads the long side by RETRY_PAD_FRACTION on each end: a strip a few hundred times
        longer than wide becomes 0 px across, an OpenCV assertion in the worker (issue 15 §8).
        Nothing under 2 px across is a face, so such an image simply has none.
        """
        long_side = max(height, width) * (1 + 2 * RETRY_PAD_FRACTION)
        return min(height, width) * self.det_size / long_side < 2

    def embed_aligned(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Embed aligned RGB face crops (recogniser input size); returns (n, dim) unit vectors."""
        if not crops:
            return np.empty((0, self.dim), dtype=np.float32)
        # insightface's ArcFaceONNX expects BGR (it swaps to RGB in blobFromImages).
        bgr = [cv2.cvtColor(crop, cv2.COLOR_RGB2BGR) for crop in crops]
        if self._batched:
            raw = self._recogniser.get_feat(bgr)
        else:
            raw = np.vstack([self._recogniser.get_feat(one) for one in bgr])
        raw = np.asarray(raw, dtype=np.float32).reshape(len(crops), -1)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        return raw / np.maximum(norms, 1e-12)

    def describe_drawn(self, image: np.ndarray, box: Sequence[float]) -> DrawnFace:
        """Embed the face inside `box` (x1, y1, x2, y2 in pixels of the upright `image`), which
        the user drew because detection missed it.

        The detector runs on the box enlarged DRAWN_SEARCH_FACTOR times; of the faces it finds
        there, the one whose centre lies in the box and that overlaps it most is taken (its
        landmarks, its aligned crop). When it finds none, a centred square crop of the box is
        embedded as it is (see DrawnFace). The same size rule as for detected faces applies:
        a face under the engine's minimum size is kept but not embedded.
        """
        _check_rgb(image)
        height, width = image.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box)
        x1, x2 = max(0.0, min(x1, x2)), min(float(width), max(x1, x2))
        y1, y2 = max(0.0, min(y1, y2)), min(float(height), max(y1, y2))
        if x2 - x1 < 1 or y2 - y1 < 1:
            raise ValueError(f"The box {tuple(box)} holds no pixels of a {width}x{height} image")
        drawn = (x1, y1, x2, y2)
        half = max(x2 - x1, y2 - y1) * DRAWN_SEARCH_FACTOR / 2
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        left, top = max(0, int(cx - half)), max(0, int(cy - half))
        right, bottom = min(width, int(np.ceil(cx + half))), min(height, int(np.ceil(cy + half)))
        region = np.ascontiguousarray(image[top:bottom, left:right])
        found = self.detect(region, min_score=min(self.min_score, DRAWN_MIN_SCORE))
        best, best_overlap = None, 0.0
        for candidate in found:
            fx1, fy1, fx2, fy2 = candidate.box
            centre_x, centre_y = left + (fx1 + fx2) / 2, top + (fy1 + fy2) / 2
            if not (x1 <= centre_x <= x2 and y1 <= centre_y <= y2):
                continue
            overlap = _iou(drawn, (fx1 + left, fy1 + top, fx2 + left, fy2 + top))
            if overlap > best_overlap:
                best, best_overlap = candidate, overlap
        if best is not None:
            offset = np.array([left, top], dtype=np.float32)
            fx1, fy1, fx2, fy2 = best.box
            face = DetectedFace(
                box=(fx1 + left, fy1 + top, fx2 + left, fy2 + top),
                landmarks=_read_only(best.landmarks + offset),
                det_score=best.det_score,
                embedding=best.embedding,
                size_px=best.size_px,
                sharpness=best.sharpness,
                frontalness=best.frontalness,
            )
            return DrawnFace(face=face, landmarks_found=True)
        crop = self._centred_crop(image, drawn)
        size = float(min(x2 - x1, y2 - y1))
        embedding = _read_only(self.embed_aligned([crop])[0]) if size >= self.min_face_px else None
        face = DetectedFace(
            box=drawn,
            landmarks=_read_only(np.empty((0, 2), dtype=np.float32)),
            det_score=0.0,
            embedding=embedding,
            size_px=size,
            sharpness=sharpness(crop),
            frontalness=0.0,
        )
        return DrawnFace(face=face, landmarks_found=False)

    def _centred_crop(self, image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """The square around the box's centre, as wide as its longer side (black outside the
        photo), at the recogniser's input size. 1.0 times the side gave the highest similarity
        to the aligned crop among 0.9 to 1.5 times on the shared set (docs/PEOPLE.md)."""
        x1, y1, x2, y2 = box
        side = max(1, round(max(x2 - x1, y2 - y1)))
        left, top = round((x1 + x2 - side) / 2), round((y1 + y2 - side) / 2)
        height, width = image.shape[:2]
        square = np.zeros((side, side, 3), dtype=np.uint8)
        src_x1, src_y1 = max(0, left), max(0, top)
        src_x2, src_y2 = min(width, left + side), min(height, top + side)
        square[src_y1 - top : src_y2 - top, src_x1 - left : src_x2 - left] = image[src_y1:src_y2, src_x1:src_x2]
        shrinking = side > self._crop_size
        return cv2.resize(
            square,
            (self._crop_size, self._crop_size),
            interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
        )

    def _run_detector(self, image_rgb: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
        bgr = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR)
        size = (self.det_size, self.det_size)
        return self._detector.detect(bgr, input_size=size, det_thresh=min_score)

    def _run_detector_padded(self, image_rgb: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
        height, width = image_rgb.shape[:2]
        pad_y, pad_x = round(height * RETRY_PAD_FRACTION), round(width * RETRY_PAD_FRACTION)
        padded = cv2.copyMakeBorder(image_rgb, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        boxes, landmarks = self._run_detector(padded, min_score)
        boxes = boxes.copy()
        boxes[:, [0, 2]] -= pad_x
        boxes[:, [1, 3]] -= pad_y
        return boxes, landmarks - np.array([pad_x, pad_y], dtype=np.float32)

    def _describe_faces(
        self,
        image: np.ndarray,
        boxes: np.ndarray,
        landmarks: np.ndarray,
        scores: np.ndarray,
    ) -> list[DetectedFace]:
        crops = [self._aligned_crop(image, box, points) for box, points in zip(boxes, landmarks, strict=True)]
        sizes = [float(min(x2 - x1, y2 - y1)) for x1, y1, x2, y2 in boxes]
        recognisable = [i for i, size in enumerate(sizes) if size >= self.min_face_px]
        vectors = self.embed_aligned([crops[i] for i in recognisable])
        embeddings: list[np.ndarray | None] = [None] * len(crops)
        for row, index in enumerate(recognisable):
            embeddings[index] = _read_only(vectors[row])
        return [
            DetectedFace(
                box=tuple(float(v) for v in boxes[i]),
                landmarks=_read_only(landmarks[i].astype(np.float32)),
                det_score=float(scores[i]),
                embedding=embeddings[i],
                size_px=sizes[i],
                sharpness=sharpness(crops[i]),
                frontalness=frontalness(landmarks[i]),
            )
            for i in range(len(crops))
        ]

    def _aligned_crop(self, image: np.ndarray, box: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The recogniser's aligned crop, taken from the full-resolution image."""
        from insightface.utils import face_align

        eye_distance = float(np.linalg.norm(points[1] - points[0]))
        # The ArcFace template puts the eyes ~35 px apart in a 112 px crop.
        template_eyes = 35.2 * self._crop_size / 112.0
        shrink = MAX_WARP_DOWNSCALE * template_eyes / max(eye_distance, 1.0)
        if shrink < 1.0:
            image, points = _shrunk_region(image, box, points, shrink)
        with warnings.catch_warnings():
            # scikit-image 0.26 deprecates SimilarityTransform.estimate, which face_align uses.
            warnings.filterwarnings("ignore", message=r"`estimate` is deprecated", category=FutureWarning)
            return face_align.norm_crop(image, landmark=points, image_size=self._crop_size)


def _shrunk_region(
    image: np.ndarray, box: np.ndarray, points: np.ndarray, shrink: float
) -> tuple[np.ndarray, np.ndarray]:
    """A downscaled cut-out around a face (the box plus one box size on every side).

    The aligned crop spans about 1.5 box widths, so the cut-out always contains it.
    """
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1)
    left, top = max(0, int(x1 - side)), max(0, int(y1 - side))
    right = min(image.shape[1], int(np.ceil(x2 + side)))
    bottom = min(image.shape[0], int(np.ceil(y2 + side)))
    region = image[top:bottom, left:right]
    size = (max(1, round(region.shape[1] * shrink)), max(1, round(region.shape[0] * shrink)))
    small = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    factors = np.array([size[0] / region.shape[1], size[1] / region.shape[0]], dtype=np.float32)
    return small, (points - np.array([left, top], dtype=np.float32)) * factors


def load_engine(
    pack: str | os.PathLike[str] = DEFAULT_PACK,
    *,
    ort_threads: int = DEFAULT_ORT_THREADS,
    min_score: float = DEFAULT_MIN_SCORE,
    min_face_px: int = DEFAULT_MIN_FACE_PX,
    det_size: int = DEFAULT_DET_SIZE,
    models_root: str | os.PathLike[str] = DEFAULT_MODELS_ROOT,
) -> FaceEngine:
    """Load a model pack: a folder of ONNX files, or an InsightFace pack name such as buffalo_l.

    A pack name is looked up in `<models_root>/models/<name>` and downloaded there by InsightFace
    when missing (which needs internet). Only the detector and the recogniser are loaded.
    """
    if ort_threads < 1:
        raise FaceEngineError(f"onnxruntime threads must be >= 1, got {ort_threads}")
    if det_size < 32 or det_size % 32:
        raise FaceEngineError(f"Detection size must be a multiple of 32, got {det_size}")
    insightface_name, pack_name = _resolve_pack(pack)
    analysis = _load_face_analysis(insightface_name, ort_threads=ort_threads, models_root=models_root)
    models = analysis.models
    if "detection" not in models or "recognition" not in models:
        missing = "detector" if "detection" not in models else "recogniser"
        raise FaceEngineError(
            f"Face pack {str(pack)!r} ({analysis.model_dir}) has no {missing} ONNX model.", advice=_pack_advice()
        )
    if not getattr(models["detection"], "use_kps", False):
        raise FaceEngineError(
            f"The detector of face pack {str(pack)!r} gives no landmarks; alignment needs an SCRFD "
            "detector with 5 keypoints.",
            advice=_pack_advice(),
        )
    recogniser = models["recognition"]
    return FaceEngine(
        detector=models["detection"],
        recogniser=recogniser,
        pack_name=pack_name,
        recogniser_sha256=_file_sha256(recogniser.model_file),
        min_score=min_score,
        min_face_px=min_face_px,
        det_size=det_size,
    )


def _execution_providers() -> list[str]:
    """CUDA when this onnxruntime build offers it, with CPU as the fallback."""
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def _load_face_analysis(pack: str, *, ort_threads: int, models_root: str | os.PathLike[str]) -> Any:
    import onnxruntime
    from insightface.app import FaceAnalysis

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = ort_threads
    options.inter_op_num_threads = 1
    try:
        # insightface prints download progress to stdout; keep stdout clean for callers that
        # emit machine-readable output (calibrate_faces --json, the benchmark).
        with contextlib.redirect_stdout(sys.stderr):
            analysis = FaceAnalysis(
                name=pack,
                root=str(models_root),
                allowed_modules=RECOGNITION_MODULES,
                providers=_execution_providers(),
                sess_options=options,
            )
            # ctx_id 0 keeps the providers chosen above (-1 would force the CPU provider).
            analysis.prepare(ctx_id=0, det_size=(DEFAULT_DET_SIZE, DEFAULT_DET_SIZE))
    # Loading fails in many unrelated types (requests/OSError for downloads, zipfile errors,
    # onnxruntime's pybind errors that derive straight from Exception, AssertionError for a
    # folder without a detector); all of them mean "this pack cannot be used".
    except Exception as exc:
        raise FaceEngineError(
            f"Could not load face pack {pack!r}: {type(exc).__name__}: {exc}.", advice=_pack_advice()
        ) from exc
    return analysis


def _pack_advice() -> str:
    return (
        f"Set {PACK_SETTING} to a folder holding an SCRFD detector (5 keypoints) and an "
        "ArcFace-style recogniser as .onnx files (for example ../shared/models/face_default), "
        "or to an InsightFace pack name such as buffalo_l on a machine that can download it "
        "from GitHub (it is stored in ~/.insightface/models/<name>; without internet, copy "
        "the unpacked pack there or point the setting at its folder)."
    )


def _resolve_pack(pack: str | os.PathLike[str]) -> tuple[str, str]:
    """(what to hand to FaceAnalysis, the pack's name): a folder's absolute path or a pack name."""
    folder = Path(pack).expanduser()
    if folder.is_dir():
        folder = folder.resolve()
        return str(folder), folder.name
    text = os.fspath(pack)
    if isinstance(pack, os.PathLike) or os.sep in text or text.startswith((".", "~")):
        # A path that is not there must not turn into a download attempt of that "name".
        raise FaceEngineError(f"Face pack folder {text!r} does not exist.", advice=_pack_advice())
    return text, text


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


def _check_rgb(image: np.ndarray) -> None:
    if not (
        isinstance(image, np.ndarray)
        and image.dtype == np.uint8
        and image.ndim == 3
        and image.shape[2] == 3
        and min(image.shape[:2]) > 0
    ):
        described = getattr(image, "shape", type(image).__name__)
        raise ValueError(f"Expected an (H, W, 3) uint8 RGB image, got {described}")
