"""What recognition needs to know about the face model, and nothing else of `faces`.

Which vectors are comparable (model id, dimension), the calibrated bands of the pack
(MatchPolicy), and how stored embeddings (float32 bytes) become a matrix. Matching, grouping,
the index cache and the selectors all read vectors through `decode_vectors`, so the byte
format is written down once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Neighbours fetched per face; enough for the vote of several people with several faces each.
NEIGHBOURS = 32
# A person's score is the mean of its best TOP_PER_PERSON neighbour similarities (fewer when
# the person has fewer neighbours). See docs/PEOPLE.md for the measurements behind it.
TOP_PER_PERSON = 1


# Where the grouping lines sit inside the pack's band [suggest, auto_assign], as fractions of
# it, so they follow each pack's calibration. Cross-validated on ../shared/faces and on
# synthetic strangers (docs/PEOPLE.md "Groups"): lower grouping merges strangers, higher
# splits one person's faces over several groups; a group question needs the group's median
# face a little above the grouping line, so a group is asked about only when most of it
# looks like the person.
GROUP_FRACTION = 0.4
GROUP_QUESTION_FRACTION = 0.45
SINGLE_QUESTION_FRACTION = 0.35


@dataclass(frozen=True)
class MatchPolicy:
    auto_assign: float
    suggest: float
    margin: float
    neighbours: int = NEIGHBOURS
    top_per_person: int = TOP_PER_PERSON

    def _in_band(self, fraction: float) -> float:
        return self.suggest + fraction * (self.auto_assign - self.suggest)

    @property
    def group(self) -> float:
        """Mean similarity at which unnamed faces (and groups) are joined."""
        return self._in_band(GROUP_FRACTION)

    @property
    def single_question(self) -> float:
        """Score at which a face in no group is asked about on its own ("Is this Anna?")."""
        return self._in_band(SINGLE_QUESTION_FRACTION)

    @property
    def group_question(self) -> float:
        """Median score of a group's faces for a person at which the group is asked about them."""
        return self._in_band(GROUP_QUESTION_FRACTION)


@dataclass(frozen=True)
class RecognitionModel:
    """What recognition needs from the engine: which vectors are comparable, and the bands."""

    model_id: str
    dim: int
    policy: MatchPolicy

    def fits(self, model_id: str, embedding: bytes | None) -> bool:
        """Whether a stored embedding was made by this model and can be compared."""
        return embedding is not None and model_id == self.model_id and len(embedding) == self.dim * 4


def current_model() -> RecognitionModel:
    """The model this process loads (the engine is loaded lazily, once per process)."""
    from faces.engine_loader import get_engine

    engine = get_engine()
    thresholds = engine.thresholds
    return RecognitionModel(
        model_id=engine.model_id,
        dim=engine.dim,
        policy=MatchPolicy(auto_assign=thresholds.auto_assign, suggest=thresholds.suggest, margin=thresholds.margin),
    )


def decode_vectors(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    """Stored embeddings (float32 bytes each) as one (n, dim) float32 matrix."""
    if not blobs:
        return np.empty((0, dim), dtype=np.float32)
    return np.frombuffer(b"".join(bytes(b) for b in blobs), dtype=np.float32).reshape(-1, dim)
