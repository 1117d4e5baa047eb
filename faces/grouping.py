"""Unnamed groups: average-linkage clustering of the faces nobody has named yet (pure).

Why average linkage and not a density or single-link rule: single-link chaining through a
threshold joins two strangers as soon as one pair of their faces looks alike, and in a big
library (thousands of people, a few photos each) such pairs always exist, so chains grow
into groups of hundreds of people. Average linkage joins two groups only when their faces
look alike *on average* (the mean of all cross pairs), so one look-alike pair cannot merge
two people, and a group's mean keeps it anchored to one face.

The mean of all cross pairs of groups A and B is dot(sum A, sum B) / (|A| |B|) for unit
vectors, so each group is kept as the sum of its vectors and a merge is one addition. Only
groups that are neighbours in a k-nearest-neighbour graph of the faces are compared (what
keeps it near-linear: n * k candidate pairs instead of n^2), best pair first, until the
best remaining pair is below the threshold. Two faces of one photo are never one group
(one person appears once per photo), which also stops many wrong merges.

`join_scores` is the incremental step: a new face's mean similarity to each existing group.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import faiss
import numpy as np

# Neighbours per face in the candidate graph: more than any person's photo count in a
# typical burst, so one person's faces are connected; grouping quality stops improving here.
GRAPH_NEIGHBOURS = 24
# A group is shown when it has this many faces; a lone face stays ungrouped ("Unnamed faces").
MIN_GROUP_SIZE = 2


def average_linkage(
    vectors: np.ndarray, photos: Sequence[int], *, threshold: float, neighbours: int = GRAPH_NEIGHBOURS
) -> np.ndarray:
    """A cluster label per row (0..m-1), deterministic for a given input order.

    vectors: (n, d) unit vectors; photos: the photo of each row (rows of one photo never
    share a cluster). Singletons get labels too; the caller decides the minimum group size.
    """
    n = len(vectors)
    labels = np.arange(n, dtype=np.int64)
    if n < 2:
        return labels
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    sims, ids = index.search(vectors, min(neighbours + 1, n))

    sums = {i: vectors[i].astype(np.float64) for i in range(n)}
    counts = {i: 1 for i in range(n)}
    photo_sets = {i: {photos[i]} for i in range(n)}
    members = {i: [i] for i in range(n)}
    adjacent: dict[int, set[int]] = {i: set() for i in range(n)}
    # Entries carry both groups' versions: a merge changes a group's mean, so its older
    # entries are stale and skipped when they come up.
    version = dict.fromkeys(range(n), 0)
    heap: list[tuple[float, int, int, int, int]] = []
    for i in range(n):
        for sim, j in zip(sims[i].tolist(), ids[i].tolist(), strict=True):
            if j < 0 or j == i or sim < threshold:
                continue
            adjacent[i].add(j)
            adjacent[j].add(i)
    for i in range(n):
        for j in adjacent[i]:
            if i < j and photos[i] != photos[j]:
                heapq.heappush(heap, (-float(vectors[i] @ vectors[j]), i, j, 0, 0))

    while heap:
        negative, a, b, version_a, version_b = heapq.heappop(heap)
        if a not in sums or b not in sums or version[a] != version_a or version[b] != version_b:
            continue  # stale: a side was merged since; its pairs were pushed again
        if -negative < threshold:
            break
        if photo_sets[a] & photo_sets[b]:
            continue
        # Merge b into a; every pair of a is scored again with a's new mean.
        sums[a] += sums.pop(b)
        counts[a] += counts.pop(b)
        photo_sets[a] |= photo_sets.pop(b)
        members[a] += members.pop(b)
        version.pop(b)
        version[a] += 1
        neighbours_of_a = (adjacent[a] | adjacent.pop(b)) - {a, b}
        adjacent[a] = neighbours_of_a
        for c in neighbours_of_a:
            adjacent[c].discard(b)
            adjacent[c].add(a)
            if photo_sets[a] & photo_sets[c]:
                continue
            score = float(sums[a] @ sums[c]) / (counts[a] * counts[c])
            if score >= threshold:
                low, high = min(a, c), max(a, c)
                heapq.heappush(heap, (-score, low, high, version[low], version[high]))

    for label, root in enumerate(sorted(members, key=lambda r: min(members[r]))):
        labels[members[root]] = label
    return labels


def join_scores(vector: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """A face's mean similarity to the faces of each group (from the groups' vector sums)."""
    if len(sums) == 0:
        return np.empty(0, dtype=np.float32)
    return (sums @ vector) / np.maximum(counts, 1)
