"""What a drawn face is worth (docs/PEOPLE.md "Draw a face"), on a labelled identity-folder tree.

For the largest detected face of every photo of ../shared/faces/<Identity>/:
- a box 20% larger than the detector's on each side is drawn (`FaceEngine.describe_drawn`):
  how often the detector finds the face's landmarks in it;
- the centred crop of the detector's box (the fallback when no landmarks are found) is embedded:
  its median similarity to the same face aligned, and how often the nearest aligned face of
  another photo is the same person (rank 1), next to the same for the aligned embeddings.

Prints one JSON line.

    .venv/bin/python -m bench.drawn_faces [--faces ../shared/faces] [--pack ../shared/models/face_default]
"""

import argparse
import json
from pathlib import Path

import numpy as np

from bench import _common as common


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faces", default=str(common.SHARED / "faces"))
    parser.add_argument("--pack", default=str(common.SHARED / "models" / "face_default"))
    args = parser.parse_args()

    from faces.calibration import labelled_photos, largest_face
    from faces.engine import load_engine, load_upright_rgb

    engine = load_engine(args.pack)
    aligned, centred, labels, found = [], [], [], 0
    for person, photo in labelled_photos(Path(args.faces)):
        image = load_upright_rgb(photo)
        face = largest_face(engine.detect(image))
        if face is None or face.embedding is None:
            continue
        aligned.append(face.embedding)
        centred.append(engine.embed_aligned([engine._centred_crop(image, face.box)])[0])
        labels.append(person)
        x1, y1, x2, y2 = face.box
        dx, dy = (x2 - x1) * 0.2, (y2 - y1) * 0.2
        found += engine.describe_drawn(image, (x1 - dx, y1 - dy, x2 + dx, y2 + dy)).landmarks_found
    a, c, people = np.array(aligned), np.array(centred), np.array(labels)

    def rank1(vectors: np.ndarray) -> float:
        similarity = vectors @ a.T
        np.fill_diagonal(similarity, -9.0)
        return round(float(np.mean(people[similarity.argmax(1)] == people)), 3)

    print(
        json.dumps(
            {
                "pack": engine.model_id,
                "faces": len(people),
                "landmarks_found_in_drawn_boxes": found,
                "centred_vs_aligned_median_similarity": round(float(np.median(np.sum(a * c, axis=1))), 3),
                "rank1_aligned": rank1(a),
                "rank1_centred_crop": rank1(c),
            }
        )
    )


if __name__ == "__main__":
    main()
