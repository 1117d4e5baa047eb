"""Unnamed groups: unknown faces that look alike, offered to be named in one action.

Density-based (DBSCAN-like) over the owner's unknown faces only, with FAISS neighbour search
instead of scikit-learn: a face with at least MIN_GROUP_SIZE faces (itself included) within the
grouping threshold is a core face; core faces that are neighbours share a group; a non-core
face joins the group of its most similar core neighbour; the rest stay ungrouped.

The grouping threshold sits halfway between the pack's calibrated suggest and auto-assign
similarities. The suggest threshold alone (a 1 % false match rate per pair) would chain
strangers together through a big unknown pile; auto-assign alone would split one person's
faces over many groups. Groups only *offer* a name, so the middle is the right trade-off.

Re-grouping is incremental in what the user sees: a new grouping keeps the id of the existing
group it overlaps most, so new faces "join" groups. Dismissed groups keep their faces, and
those faces are never grouped again, so a dismissed set never comes back as a new group.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict

import faiss
import numpy as np
from django.db import transaction

from faces.models import Face, FaceGroup
from faces.recognition_model import current_model, decode_vectors

logger = logging.getLogger(__name__)

MIN_GROUP_SIZE = 3
# Neighbours looked at per face when the pile is too big for an exact range search.
APPROXIMATE_ABOVE = 50_000
KNN_NEIGHBOURS = 64


def group_threshold(suggest: float, auto_assign: float) -> float:
    return suggest + 0.5 * (auto_assign - suggest)


def density_groups(vectors: np.ndarray, *, threshold: float, min_size: int = MIN_GROUP_SIZE) -> np.ndarray:
    """Group label per row (-1 = no group), deterministic for a given input order."""
    n = len(vectors)
    labels = np.full(n, -1, dtype=np.int64)
    if n < min_size:
        return labels
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    neighbours: list[np.ndarray] = []
    similarities: list[np.ndarray] = []
    if n <= APPROXIMATE_ABOVE:
        lims, dist, ids = index.range_search(vectors, threshold)
        for i in range(n):
            neighbours.append(ids[lims[i] : lims[i + 1]])
            similarities.append(dist[lims[i] : lims[i + 1]])
    else:
        dist, ids = index.search(vectors, KNN_NEIGHBOURS)
        for i in range(n):
            keep = (dist[i] >= threshold) & (ids[i] >= 0)
            neighbours.append(ids[i][keep])
            similarities.append(dist[i][keep])
    core = np.array([len(nb) >= min_size for nb in neighbours])
    next_label = 0
    for start in range(n):
        if not core[start] or labels[start] >= 0:
            continue
        labels[start] = next_label
        stack = [start]
        while stack:
            i = stack.pop()
            for j in neighbours[i]:
                if core[j] and labels[j] < 0:
                    labels[j] = next_label
                    stack.append(j)
        next_label += 1
    for i in range(n):
        if core[i]:
            continue
        best, best_sim = -1, -np.inf
        for j, sim in zip(neighbours[i], similarities[i], strict=True):
            if core[j] and sim > best_sim:
                best, best_sim = j, sim
        if best >= 0:
            labels[i] = labels[best]
    return labels


def faces_regroup(owner_id: int, model=None) -> dict[str, int]:
    """Re-group the owner's unknown faces; keeps existing group ids where groups overlap."""
    model = model or current_model()
    threshold = group_threshold(model.policy.suggest, model.policy.auto_assign)
    with transaction.atomic():
        dismissed_groups = set(FaceGroup.objects.filter(owner_id=owner_id, dismissed=True).values_list("id", flat=True))
        faces = list(
            Face.objects.select_for_update()
            .filter(
                owner_id=owner_id,
                state=Face.State.UNKNOWN,
                recognisable=True,
                embedding__isnull=False,
                model_id=model.model_id,
            )
            .exclude(group_id__in=dismissed_groups)
            .order_by("id")
            .only("id", "group_id", "embedding")
        )
        faces = [f for f in faces if len(f.embedding) == model.dim * 4]
        labels = density_groups(decode_vectors([f.embedding for f in faces], model.dim), threshold=threshold)
        # Old group -> new cluster with the largest overlap keeps that group's id.
        overlap: Counter = Counter()
        for face, label in zip(faces, labels, strict=True):
            if label >= 0 and face.group_id:
                overlap[(int(label), face.group_id)] += 1
        cluster_group: dict[int, int] = {}
        used_groups: set[int] = set()
        for (label, group_id), _ in sorted(overlap.items(), key=lambda item: (-item[1], item[0])):
            if label not in cluster_group and group_id not in used_groups:
                cluster_group[label] = group_id
                used_groups.add(group_id)
        for label in sorted(set(labels.tolist()) - {-1}):
            if label not in cluster_group:
                cluster_group[label] = FaceGroup.objects.create(owner_id=owner_id).id
        changed = []
        for face, label in zip(faces, labels, strict=True):
            group_id = cluster_group[int(label)] if label >= 0 else None
            if face.group_id != group_id:
                face.group_id = group_id
                changed.append(face)
        Face.objects.bulk_update(changed, ["group"], batch_size=500)
        # Faces that stopped being unknown leave their (undismissed) group.
        Face.objects.filter(owner_id=owner_id, group__isnull=False).exclude(state=Face.State.UNKNOWN).exclude(
            group_id__in=dismissed_groups
        ).update(group=None)
        emptied = FaceGroup.objects.filter(owner_id=owner_id, dismissed=False, faces__isnull=True)
        removed, _ = FaceGroup.objects.filter(id__in=list(emptied.values_list("id", flat=True))).delete()
    sizes = defaultdict(int)
    for label in labels.tolist():
        if label >= 0:
            sizes[label] += 1
    result = {
        "faces": len(faces),
        "groups": len(sizes),
        "grouped": sum(sizes.values()),
        "changed": len(changed),
        "removed_groups": removed,
    }
    logger.info("Regrouped unknown faces of user %s: %s", owner_id, result)
    return result
