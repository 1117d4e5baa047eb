"""Faces that may not belong to a person (pure: numpy, no Django).

A wrong confirmation, or a look-alike sibling confirmed once, sits among a person's faces and
pulls more faces of the wrong human in (recognition trusts confirmed faces). Such a face is
far from the *rest* of the person's confirmed faces, so each of her named faces is scored
against her confirmed faces other than itself (leave-one-out): the mean of its best
similarities to them, over the best TOP_K or TOP_SHARE of them, whichever is more. The
lowest scores are the faces to look at.

Why the mean of the best few, and why "few" grows with the person (docs/PEOPLE.md):
- the best one alone lets two wrong faces of the same look-alike vouch for each other, and
  any fixed number k lets a sister confirmed k + 1 times do the same (bench/outliers.py: 15
  wrong faces among 1,500, k = 3, found 7 of them in the first 15);
- the mean of all marks a person's rarer looks (a child's early photos, profile, glasses) as
  strangers as much as a look-alike, since both are far from her average.
A face has to look like a tenth of her confirmed faces to rank as hers.
"""

from __future__ import annotations

import math

import numpy as np

# A face's score is the mean of its best similarities to the other confirmed faces: the best
# TOP_K of them, or the best TOP_SHARE of them when that is more.
TOP_K = 3
TOP_SHARE = 0.1
# Above this many confirmed faces an evenly spread sample of them is compared with: the best
# tenth of 2,000 says what the best tenth of 20,000 says, and the time stays bounded by
# faces x 2,000 instead of faces x confirmed (bench/outliers.py).
MAX_REFERENCES = 2000
# Rows scored per matrix product: bounds memory to CHUNK x references floats.
CHUNK = 1024


def leave_one_out_scores(vectors: np.ndarray, references: np.ndarray, *, top_k: int | None = None) -> np.ndarray:
    """Each row's mean of its best similarities to the reference rows other than itself.

    vectors: (n, d) unit vectors; references: (n,) bools, the rows compared against (the
    person's confirmed faces; more than MAX_REFERENCES: an evenly spread sample of them).
    NaN for a row with no other reference to compare with.
    top_k: how many of the best; None: TOP_K or TOP_SHARE of the references, whichever is
    more; 0 or less: all of them.
    """
    n = len(vectors)
    scores = np.full(n, np.nan, dtype=np.float64)
    ref_rows = np.flatnonzero(references)
    if len(ref_rows) > MAX_REFERENCES:
        ref_rows = ref_rows[np.linspace(0, len(ref_rows) - 1, MAX_REFERENCES).round().astype(np.int64)]
    if n == 0 or len(ref_rows) == 0:
        return scores
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    reference_vectors = vectors[ref_rows]
    column_of = np.full(n, -1, dtype=np.int64)
    column_of[ref_rows] = np.arange(len(ref_rows))
    if top_k is None:
        top_k = max(TOP_K, math.ceil(TOP_SHARE * len(ref_rows)))
    keep = len(ref_rows) if top_k <= 0 else min(top_k, len(ref_rows))
    for start in range(0, n, CHUNK):
        sims = vectors[start : start + CHUNK] @ reference_vectors.T
        rows = np.arange(len(sims))
        own = column_of[start : start + CHUNK]
        is_reference = own >= 0
        # Leave one out: a confirmed face is not compared with itself.
        sims[rows[is_reference], own[is_reference]] = -np.inf
        if keep < len(ref_rows):
            # The `keep` largest of each row (unordered); the -inf of the face itself is the
            # smallest entry, so it is never among them while another reference is left out.
            best = np.partition(sims, len(ref_rows) - keep, axis=1)[:, len(ref_rows) - keep :]
        else:
            best = sims
        finite = np.isfinite(best)
        counts = finite.sum(axis=1)
        totals = np.where(finite, best, 0.0).sum(axis=1, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            scores[start : start + len(sims)] = np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
    return scores


def ranking(scores: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Positions of the rows, the lowest score first, ties by id; rows without a score last."""
    scores = np.asarray(scores, dtype=np.float64)
    unscored = np.isnan(scores)
    return np.lexsort((np.asarray(ids), np.where(unscored, 0.0, scores), unscored))
