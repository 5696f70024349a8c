"""Tatoeba bitext retrieval scores from sentence embeddings (SPEC §6).

Reference direction (XTREME, ``third_party/evaluate_retrieval.py`` ``similarity_search``): the
index holds the xx sentences, the **English** sentences are the queries, exact 1-NN; query ``i`` is
a hit when it retrieves xx line ``i``. XTREME searches ``IndexFlatL2`` over L2-normalised vectors;
xgap uses ``IndexFlatIP`` (SPEC), which ranks identically on unit vectors. FAISS returns the lowest
index among exact ties, as numpy's ``argmax`` does.

The reverse direction (xx queries against the English index) is the one MTEB reports. It is
computed from the same embeddings and reported under its own names, with precision/recall/F1 the
way MTEB's ``BitextMiningEvaluator`` computes them: ``labels = gold index of each query
(range(n))``, ``predictions = retrieved index``, scikit-learn ``precision_score / recall_score /
f1_score(labels, predictions, average="weighted", zero_division=0)`` and ``accuracy_score``
(:func:`xgap.metrics.retrieval.weighted_prf`). This module does the search; the scores come from
:mod:`xgap.metrics.retrieval`.
"""

from __future__ import annotations

import numpy as np

from xgap.errors import XgapError
from xgap.metrics.retrieval import weighted_prf


def _as_f32(x, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if arr.ndim != 2:
        raise XgapError(f"{name} must be a 2-d array of embeddings (got shape {arr.shape})")
    return arr


def nearest_neighbours(queries, index_vectors) -> np.ndarray:
    """Exact inner-product 1-NN with FAISS ``IndexFlatIP``: index of the best row per query."""
    import faiss

    q = _as_f32(queries, "queries")
    base = _as_f32(index_vectors, "index vectors")
    if q.shape[1] != base.shape[1]:
        raise XgapError(f"embedding sizes differ: queries {q.shape[1]}, index {base.shape[1]}")
    if len(q) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(base) == 0:
        raise XgapError("cannot search an empty index")
    index = faiss.IndexFlatIP(base.shape[1])
    index.add(base)
    _, ind = index.search(q, 1)
    return ind[:, 0].astype(np.int64)


def tatoeba_scores(src_emb, tgt_emb) -> dict:
    """Scores for one language pair; ``src_emb`` = xx lines, ``tgt_emb`` = English lines (i <-> i).

    Returns (metrics 0-100):

    - ``accuracy``: XTREME's primary score, English queries -> xx index;
    - ``predictions``: for each English query line, the retrieved xx line (XTREME's export format);
    - ``accuracy_xx_en``, ``precision_xx_en``, ``recall_xx_en``, ``f1_xx_en``: the MTEB direction;
    - ``predictions_xx_en``: for each xx query line, the retrieved English line;
    - ``n``: number of pairs.
    """
    src = _as_f32(src_emb, "source (xx) embeddings")
    tgt = _as_f32(tgt_emb, "target (English) embeddings")
    if src.shape != tgt.shape:
        raise XgapError(
            f"Tatoeba needs one embedding per line on both sides (xx {src.shape}, en {tgt.shape}); "
            "the two files must have the same number of lines"
        )
    n = len(src)
    if n == 0:
        raise XgapError("Tatoeba: no sentence pairs to score")
    gold = np.arange(n)
    en_xx = nearest_neighbours(tgt, src)
    xx_en = nearest_neighbours(src, tgt)
    mteb = weighted_prf(gold, xx_en)
    return {
        "accuracy": 100.0 * float(np.mean(en_xx == gold)),
        "accuracy_xx_en": mteb["accuracy"],
        "precision_xx_en": mteb["precision"],
        "recall_xx_en": mteb["recall"],
        "f1_xx_en": mteb["f1"],
        "n": n,
        "predictions": [int(i) for i in en_xx],
        "predictions_xx_en": [int(i) for i in xx_en],
    }
