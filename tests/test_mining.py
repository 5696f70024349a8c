"""BUCC mining: margin scores, greedy 1:1, de-dup and id mapping, threshold, F1, reference parity."""

from __future__ import annotations

import numpy as np
import pytest

from xgap.errors import XgapError
from xgap.metrics.bucc import apply_threshold, evaluate_bucc, optimize_threshold, pair_f1
from xgap.modeling import mining
from xgap.modeling.mining import (
    Candidates,
    greedy_one_to_one,
    knn_recall,
    knn_search,
    margin_candidate_scores,
    mine_candidates,
    mine_sentence_pairs,
    sentence_to_id,
    unique_sentences,
)


def _unit(a):
    a = np.asarray(a, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_margin_scores_by_hand():
    # 2 sources, 3 targets, k = 2
    x = _unit([[1, 0], [0, 1]])
    y = _unit([[1, 0], [1, 1], [0, 1]])
    c = np.float32(np.sqrt(0.5))
    fwd_sim, fwd_ind = knn_search(x, y, 2)
    # x0: y0 (1), y1 (.707); x1: y2 (1), y1 (.707)
    assert fwd_ind.tolist() == [[0, 1], [2, 1]]
    np.testing.assert_allclose(fwd_sim, [[1, c], [1, c]], rtol=1e-6)
    bwd_sim, bwd_ind = knn_search(y, x, 2)
    # y0: x0 (1), x1 (0); y1: x0/x1 (.707 each); y2: x1 (1), x0 (0)
    np.testing.assert_allclose(bwd_sim, [[1, 0], [c, c], [1, 0]], atol=1e-6)
    fwd_mean = fwd_sim.mean(axis=1)  # (1 + .707) / 2 = .854 each
    bwd_mean = bwd_sim.mean(axis=1)  # .5, .707, .5
    scores = margin_candidate_scores(fwd_sim, fwd_ind, fwd_mean, bwd_mean)
    m = (1 + c) / 2
    # score(x0, y0) = 1 / ((m + .5) / 2); score(x0, y1) = c / ((m + c) / 2)
    np.testing.assert_allclose(scores[0], [1 / ((m + 0.5) / 2), c / ((m + c) / 2)], rtol=1e-6)
    np.testing.assert_allclose(scores[1], [1 / ((m + 0.5) / 2), c / ((m + c) / 2)], rtol=1e-6)
    mined = mine_sentence_pairs(x, y, k=2)
    # candidates: x0->y0, x1->y2 (score 1.4776), y0->x0, y2->x1 (same), y1->x0 (c/((m+c)/2) = .906)
    assert sorted(zip(mined.src.tolist(), mined.tgt.tolist())) == [(0, 0), (1, 2)]
    np.testing.assert_allclose(mined.scores, [1 / ((m + 0.5) / 2)] * 2, rtol=1e-6)


def test_greedy_one_to_one():
    # candidates (src, tgt, score): two sources want target 0; the better one wins
    src = np.array([0, 1, 1, 2, 0])
    tgt = np.array([0, 0, 1, 1, 2])
    scores = np.array([1.5, 1.4, 1.2, 1.3, 1.1])
    keep = greedy_one_to_one(src, tgt, scores, 3, 3)
    # order by score: (0,0) 1.5 ok; (1,0) 1.4 tgt taken; (2,1) 1.3 ok; (1,1) 1.2 tgt taken; (0,2) 1.1 src taken
    assert keep.tolist() == [0, 3]
    # ties keep the earlier candidate first (stable)
    keep = greedy_one_to_one(np.array([0, 1]), np.array([0, 0]), np.array([1.0, 1.0]), 2, 1)
    assert keep.tolist() == [0]


def test_unique_sentences_and_repeated_text_dropped():
    src = {"d1": "Hallo Welt", "d2": "Guten Tag", "d3": "Hallo Welt", "d4": " Guten Morgen "}
    assert unique_sentences(src) == ["Hallo Welt", "Guten Tag", " Guten Morgen "]
    s2id = sentence_to_id(src)
    assert s2id == {"Guten Tag": "d2", "Guten Morgen": "d4"}  # repeated text has no id; stripped keys


def test_mine_candidates_maps_ids_and_drops_repeated_text():
    src = {"de-1": "a", "de-2": "b", "de-3": "a", "de-4": "c"}
    tgt = {"en-1": "A", "en-2": "B", "en-3": "C", "en-4": "noise"}
    # unique sources a, b, c ; targets A, B, C, noise
    x = _unit([[1, 0, 0, 0.1], [0, 1, 0, 0.1], [0, 0, 1, 0.1]])
    y = _unit([[1, 0, 0, 0.12], [0, 1, 0, 0.11], [0, 0, 1, 0.09], [0.3, 0.3, 0.3, 1]])
    cands = mine_candidates(src, tgt, x, y, k=2)
    pairs = set(cands.pairs)
    assert ("de-2", "en-2") in pairs and ("de-4", "en-3") in pairs
    assert not any(p[0] in ("de-1", "de-3") for p in pairs)  # "a" has two ids: dropped
    assert cands.stats["dropped_repeated_text"] == 1
    assert list(cands.scores) == sorted(cands.scores, reverse=True)
    with pytest.raises(XgapError, match="unique"):
        mine_candidates(src, tgt, np.vstack([x, x[:1]]), y)


def test_repeated_pair_keeps_max_score(monkeypatch):
    # the reference keeps max(score) when two mined sentence pairs map to the same id pair
    src = {"s1": "x "}
    tgt = {"t1": "y"}

    def fake_mine(x, y, **kw):
        return mining.TextMining(np.array([0, 0]), np.array([0, 0]), np.array([1.2, 1.5]), {})

    monkeypatch.setattr(mining, "mine_sentence_pairs", fake_mine)
    cands = mine_candidates(src, tgt, _unit([[1, 0]]), _unit([[1, 0]]))
    assert cands.as_dict() == {("s1", "t1"): 1.5}


def test_threshold_midpoint_by_hand():
    cands = {("a", "x"): 0.9, ("b", "y"): 0.8, ("c", "z"): 0.7, ("d", "w"): 0.6}
    gold = {("a", "x"), ("c", "z"), ("e", "v")}
    # cuts: 1 -> P 1, R 1/3, F1 .5 ; 2 -> P .5 R 1/3 F1 .4 ; 3 -> P 2/3 R 2/3 F1 2/3 ; 4 -> P .5 R 2/3 F1 .571
    th, f1 = optimize_threshold(cands, gold)
    assert th == pytest.approx(0.65)
    assert f1 == pytest.approx(200 / 3)
    assert apply_threshold(cands, th) == {("a", "x"), ("b", "y"), ("c", "z")}
    # the same through a Candidates object
    c = Candidates(list(cands), np.array(list(cands.values())))
    assert optimize_threshold(c, gold) == (th, f1)


def test_threshold_first_best_cut_and_last_candidate():
    # equal best F1 at two cuts: the first wins (strict improvement)
    cands = {("a", "x"): 0.9, ("b", "y"): 0.8, ("c", "z"): 0.7}
    th, f1 = optimize_threshold(cands, {("a", "x")})
    assert th == pytest.approx(0.85) and f1 == pytest.approx(100.0)
    # best cut is the last candidate: the reference would index past the end; xgap keeps all
    th, f1 = optimize_threshold(cands, {("a", "x"), ("b", "y"), ("c", "z")})
    assert th == pytest.approx(0.7) and f1 == pytest.approx(100.0)
    assert apply_threshold(cands, th) == set(cands)


def test_zero_correct():
    cands = {("a", "x"): 0.9, ("b", "y"): 0.8}
    assert optimize_threshold(cands, {("q", "r")}) == (0.0, 0.0)
    assert optimize_threshold({}, {("q", "r")}) == (0.0, 0.0)
    assert pair_f1({("q", "r")}, apply_threshold(cands, 0.0)) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_evaluate_bucc():
    dev = Candidates([("a", "x"), ("b", "y"), ("c", "z")], np.array([1.3, 1.2, 1.0]))
    test = Candidates([("d", "u"), ("e", "v"), ("f", "w")], np.array([1.25, 1.15, 1.12]))
    r = evaluate_bucc(dev, {("a", "x"), ("b", "y")}, test, {("d", "u"), ("f", "w")})
    assert r["threshold"] == pytest.approx(1.1) and r["dev_f1"] == pytest.approx(100.0)
    assert r["predictions"] == [("d", "u"), ("e", "v"), ("f", "w")]
    assert r["precision"] == pytest.approx(200 / 3) and r["recall"] == pytest.approx(100.0)
    assert r["f1"] == pytest.approx(80.0)


# ---------------------------------------------------------------------------------------------
# Parity with a plain, loop-based transcription of the reference pipeline
# (XTREME utils_retrieve.py: mine_bitext retrieval='max' margin='ratio', read_candidate2score,
#  bucc_optimize, bucc_extract), on random data with duplicates and repeated ids.
# ---------------------------------------------------------------------------------------------
def _reference_pipeline(src_lines, src_ids, tgt_lines, tgt_ids, x_all, y_all, gold, k=4):
    import faiss

    def unify(lines, emb):
        first, sents, keep = {}, [], []
        for i, line in enumerate(lines):
            if line not in first:
                first[line] = len(sents)
                sents.append(line)
                keep.append(i)
        return sents, emb[keep]

    src_sents, x = unify(src_lines, x_all)
    tgt_sents, y = unify(tgt_lines, y_all)

    def knn(q, base, kk):
        idx = faiss.IndexFlatIP(base.shape[1])
        idx.add(base)
        return idx.search(q, kk)

    x2y_sim, x2y_ind = knn(x, y, min(len(y), k))
    y2x_sim, y2x_ind = knn(y, x, min(len(x), k))
    x2y_mean, y2x_mean = x2y_sim.mean(axis=1), y2x_sim.mean(axis=1)

    def score_all(a, b, inds, a_mean, b_mean):
        out = np.zeros(inds.shape)
        for i in range(inds.shape[0]):
            for j in range(inds.shape[1]):
                t = inds[i, j]
                out[i, j] = a[i].dot(b[t]) / ((a_mean[i] + b_mean[t]) / 2)
        return out

    fwd = score_all(x, y, x2y_ind, x2y_mean, y2x_mean)
    bwd = score_all(y, x, y2x_ind, y2x_mean, x2y_mean)
    fwd_best = x2y_ind[np.arange(len(x)), fwd.argmax(axis=1)]
    bwd_best = y2x_ind[np.arange(len(y)), bwd.argmax(axis=1)]
    pairs = [(i, fwd_best[i]) for i in range(len(x))] + [(bwd_best[j], j) for j in range(len(y))]
    scores = np.concatenate([fwd.max(axis=1), bwd.max(axis=1)])
    mined, seen_s, seen_t = [], set(), set()
    for i in np.argsort(-scores, kind="stable"):
        s, t = pairs[i]
        if s not in seen_s and t not in seen_t:
            seen_s.add(s)
            seen_t.add(t)
            if scores[i] > 0:
                mined.append((scores[i], src_sents[s], tgt_sents[t]))

    def sent2id(lines, ids):
        rep, m = set(), {}
        for i, sent in zip(ids, lines):
            sent = sent.strip()
            if sent in m:
                rep.add(sent)
            else:
                m[sent] = i
        for sent in rep:
            del m[sent]
        return m

    s2id, t2id = sent2id(src_lines, src_ids), sent2id(tgt_lines, tgt_ids)
    c2s = {}
    for score, s, t in mined:
        s, t = s.strip(), t.strip()
        if s in s2id and t in t2id:
            key = (s2id[s], t2id[t])
            c2s[key] = max(score, c2s.get(key, score))
    items = sorted(c2s.items(), key=lambda kv: -kv[1])
    best, threshold, nx, nc = 0, 0, 0, 0
    for i in range(len(items)):
        nx += 1
        if items[i][0] in gold:
            nc += 1
        if nc > 0:
            p, r = nc / nx, nc / len(gold)
            f = 2 * p * r / (p + r)
            if f > best:
                best = f
                threshold = (items[i][1] + items[i + 1][1]) / 2
    extracted = {pair for pair, s in c2s.items() if s >= threshold}
    return c2s, threshold, 100 * best, extracted


def test_parity_with_reference_loop_implementation():
    rng = np.random.default_rng(42)
    n_gold, n_noise, d = 150, 250, 24
    base = _unit(rng.standard_normal((n_gold, d)))
    src_lines = [f"src sentence {i}" for i in range(n_gold + n_noise)]
    tgt_lines = [f"tgt sentence {i}" for i in range(n_gold + n_noise)]
    x_all = np.vstack([_unit(base + 0.15 * rng.standard_normal((n_gold, d))), _unit(rng.standard_normal((n_noise, d)))])
    y_all = np.vstack([_unit(base + 0.15 * rng.standard_normal((n_gold, d))), _unit(rng.standard_normal((n_noise, d)))])
    # duplicates: line 5 repeats line 3 (same text, same embedding) under another id
    src_lines[5] = src_lines[3]
    x_all[5] = x_all[3]
    tgt_lines[200] = tgt_lines[7]
    y_all[200] = y_all[7]
    perm_s = rng.permutation(len(src_lines))
    perm_t = rng.permutation(len(tgt_lines))
    src_lines = [src_lines[i] for i in perm_s]
    tgt_lines = [tgt_lines[i] for i in perm_t]
    x_all, y_all = x_all[perm_s], y_all[perm_t]
    src_ids = [f"de-{i:04d}" for i in range(len(src_lines))]
    tgt_ids = [f"en-{i:04d}" for i in range(len(tgt_lines))]
    pos_s = {int(p): i for i, p in enumerate(perm_s)}
    pos_t = {int(p): i for i, p in enumerate(perm_t)}
    gold = {(src_ids[pos_s[i]], tgt_ids[pos_t[i]]) for i in range(n_gold)}

    ref_c2s, ref_th, ref_f1, ref_pred = _reference_pipeline(src_lines, src_ids, tgt_lines, tgt_ids, x_all, y_all, gold)

    src = dict(zip(src_ids, src_lines))
    tgt = dict(zip(tgt_ids, tgt_lines))
    first_s = {t: i for i, t in reversed(list(enumerate(src_lines)))}
    first_t = {t: i for i, t in reversed(list(enumerate(tgt_lines)))}
    x = x_all[[first_s[t] for t in unique_sentences(src)]]
    y = y_all[[first_t[t] for t in unique_sentences(tgt)]]
    cands = mine_candidates(src, tgt, x, y, k=4)
    got = cands.as_dict()
    assert set(got) == set(ref_c2s)
    for pair, score in ref_c2s.items():
        assert got[pair] == pytest.approx(score, rel=1e-6)
    th, f1 = optimize_threshold(cands, gold)
    assert th == pytest.approx(ref_th, rel=1e-6)
    assert f1 == pytest.approx(ref_f1)
    assert apply_threshold(cands, th) == ref_pred
    assert 20 < f1 < 100


def test_knn_recall_and_approximate_indexes():
    assert knn_recall(np.array([[1, 2], [3, 4]]), np.array([[2, 1], [3, 5]])) == pytest.approx(0.75)
    rng = np.random.default_rng(0)
    base = _unit(rng.standard_normal((3000, 32)))
    queries = _unit(base[:500] + 0.3 * rng.standard_normal((500, 32)))
    _, exact = knn_search(queries, base, 4)
    for kind, opts in (("hnsw", {"efSearch": 256}), ("ivf", {"nprobe": 64})):
        _, approx = knn_search(queries, base, 4, kind, opts)
        assert knn_recall(approx, exact) > 0.85, kind
        assert mining.index_recall(queries, base, 4, kind, opts, sample=200) > 0.85
    with pytest.raises(XgapError):
        knn_search(queries, base, 4, "annoy")
    mined = mine_sentence_pairs(queries, base, k=4, index="hnsw")
    assert len(mined.scores) > 300
