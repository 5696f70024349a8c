"""Seeded percentile bootstrap: determinism, coverage of the point estimate, width, paired delta, gap."""

import numpy as np
import pytest

from xgap.errors import XgapError
from xgap.metrics.bootstrap import (
    CountsF1Statistic,
    FunctionStatistic,
    MeanStatistic,
    bootstrap_ci,
    gap_ci,
    language_seed,
    paired_bootstrap_delta,
    resample_values,
)
from xgap.metrics.bucc import pair_f1_statistic
from xgap.metrics.tagging import TaggingF1Statistic


def _bernoulli(n, p, seed):
    return np.where(np.random.default_rng(seed).random(n) < p, 100.0, 0.0)


def test_same_seed_same_interval_other_seed_differs():
    values = _bernoulli(300, 0.6, 1)
    assert bootstrap_ci(values, seed=0) == bootstrap_ci(values, seed=0)
    assert bootstrap_ci(values, seed=0) != bootstrap_ci(values, seed=1)


def test_mean_fast_path_is_the_documented_percentile_bootstrap():
    values = _bernoulli(50, 0.5, 2)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 50, size=(200, 50))
    expected = np.percentile(values[idx].mean(axis=1), [2.5, 97.5])
    assert bootstrap_ci(values, n_resamples=200, seed=3) == pytest.approx(tuple(expected))


def test_ci_contains_point_estimate_and_is_ordered():
    values = _bernoulli(400, 0.7, 4)
    low, high = bootstrap_ci(values)
    assert low <= values.mean() <= high
    assert low < high


def test_width_shrinks_with_n():
    small = _bernoulli(100, 0.5, 5)
    large = np.tile(small, 20)  # same proportion, 20x the examples
    w_small = np.subtract(*bootstrap_ci(small)[::-1])
    w_large = np.subtract(*bootstrap_ci(large)[::-1])
    assert w_large < w_small / 3  # ~ 1/sqrt(20) = 0.22 of the width


def test_generic_loop_and_fast_path_see_the_same_resamples():
    # n large enough for several index blocks
    values = _bernoulli(5000, 0.3, 6)
    fast = resample_values(MeanStatistic(values), n_resamples=300, seed=9)
    slow = resample_values(FunctionStatistic(len(values), lambda idx: values[idx].mean()), n_resamples=300, seed=9)
    assert fast == pytest.approx(slow, abs=1e-9)


def test_statistic_function_over_resampled_indices():
    from xgap.metrics.tagging import tagging_f1

    gold = [["B-PER"], ["B-LOC"], ["O", "B-ORG"]] * 5
    pred = [["B-PER"], ["B-ORG"], ["O", "B-ORG"]] * 5

    def seqeval_f1(idx):
        return tagging_f1([pred[i] for i in idx], [gold[i] for i in idx])["f1"]

    generic = bootstrap_ci(len(gold), n_resamples=100, seed=4, statistic=seqeval_f1)
    assert generic == bootstrap_ci(gold, n_resamples=100, seed=4, statistic=seqeval_f1)  # a sequence: its length
    # the numpy statistic sees the same resamples and must give the same interval
    assert generic == pytest.approx(bootstrap_ci(TaggingF1Statistic(pred, gold), n_resamples=100, seed=4))


def test_corpus_level_statistics():
    gold = [["B-PER", "O"], ["B-LOC"], ["O", "B-ORG", "I-ORG"], ["NOUN", "NOUN"]] * 10
    pred = [["B-PER", "O"], ["B-ORG"], ["O", "B-ORG", "I-ORG"], ["NOUN", "VERB"]] * 10
    stat = TaggingF1Statistic(pred, gold)
    # gold chunks per block PER LOC ORG NOUN = 4; pred PER ORG ORG NOUN VERB = 5; correct 2
    # P = 2/5, R = 2/4, F1 = 2*(0.4*0.5)/0.9 = 4/9
    assert stat.value() == pytest.approx(400 / 9)
    low, high = bootstrap_ci(stat, n_resamples=200)
    assert low <= stat.value() <= high
    counts = CountsF1Statistic([1, 0, 2], [1, 1, 2], [2, 1, 2])
    # tp 3, pred 4, gold 5: P = 3/4, R = 3/5 -> F1 = 2*(9/20)/(27/20) = 2/3
    assert counts.value() == pytest.approx(200 / 3)
    # resample [unit 1, unit 1, unit 1]: tp 0 -> 0; [unit 2, unit 2, unit 0]: tp 5, pred 5, gold 6 -> 10/11
    assert counts.resample(np.array([[1, 1, 1], [2, 2, 0]])) == pytest.approx([0.0, 1000 / 11])
    bucc = pair_f1_statistic({("a", "1"), ("b", "2")}, {("a", "1"), ("b", "3")})
    assert bucc.value() == pytest.approx(50.0)  # P = R = 1/2
    assert bootstrap_ci(bucc, n_resamples=100)[0] <= 50.0 <= bootstrap_ci(bucc, n_resamples=100)[1]


def test_paired_delta():
    a = _bernoulli(300, 0.6, 7)
    assert paired_bootstrap_delta(a + 10, a) == (pytest.approx(10.0), pytest.approx(10.0), pytest.approx(10.0))
    assert paired_bootstrap_delta(a, a) == (0.0, 0.0, 0.0)
    b = _bernoulli(300, 0.4, 8)
    delta, low, high = paired_bootstrap_delta(a, b, seed=5)
    assert delta == pytest.approx(a.mean() - b.mean())
    assert low <= delta <= high
    # paired: same index draws as a single-system bootstrap of the per-example difference
    assert (low, high) == pytest.approx(bootstrap_ci(a - b, seed=5))
    with pytest.raises(XgapError, match="same examples"):
        paired_bootstrap_delta(a, b[:10])


def test_gap_ci_constant_languages_has_zero_width():
    per_lang = {"en": np.full(20, 100.0), "de": np.zeros(30), "fr": np.full(10, 50.0)}
    # gap = 100 - (0 + 50)/2 = 75 on every resample
    assert gap_ci(per_lang) == (pytest.approx(75.0), pytest.approx(75.0), pytest.approx(75.0))


def test_gap_ci_contains_point_and_uses_per_language_seeds():
    per_lang = {"en": _bernoulli(200, 0.8, 9), "de": _bernoulli(150, 0.6, 10), "zh": _bernoulli(180, 0.5, 11)}
    gap, low, high = gap_ci(per_lang, seed=3)
    expected = per_lang["en"].mean() - (per_lang["de"].mean() + per_lang["zh"].mean()) / 2
    assert gap == pytest.approx(expected)
    assert low <= gap <= high
    assert gap_ci(dict(reversed(list(per_lang.items()))), seed=3) == (gap, low, high)  # order-free
    # each language's resamples are those of bootstrap_ci with language_seed(seed, lang)
    en = resample_values(per_lang["en"], seed=language_seed(3, "en"))
    de = resample_values(per_lang["de"], seed=language_seed(3, "de"))
    zh = resample_values(per_lang["zh"], seed=language_seed(3, "zh"))
    assert (low, high) == pytest.approx(tuple(np.percentile(en - (de + zh) / 2, [2.5, 97.5])))
    assert language_seed(3, "en") != language_seed(3, "de")


def test_gap_ci_undefined_without_english_or_others():
    assert gap_ci({"de": [1.0], "fr": [2.0]}) is None
    assert gap_ci({"en": [1.0]}) is None


def test_argument_errors():
    with pytest.raises(XgapError):
        bootstrap_ci([])
    with pytest.raises(XgapError):
        bootstrap_ci([1.0, 2.0], n_resamples=0)
    with pytest.raises(XgapError):
        bootstrap_ci([1.0, 2.0], alpha=1.0)
