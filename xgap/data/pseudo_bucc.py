"""A BUCC-2018-like mining set built from real Tatoeba files (BUCC itself is not redistributable here).

BUCC hides a few thousand gold translation pairs among many unrelated sentences on each side.
:func:`build_pseudo_bucc` does the same with the Tatoeba test set of one language: its gold pairs
are hidden among

- English distractors: English sentences of *other* languages' Tatoeba pairs, and
- foreign distractors: the non-English sides of other languages' pairs,

chosen so that no distractor has a translation on the other side: the two distractor sets come
from different pairs, no English distractor equals the English translation of a foreign distractor
or of a gold sentence, and no foreign distractor equals the source of an English distractor or a
gold source sentence. Gold pairs whose source or English text repeats an earlier gold pair are
left out (BUCC gold is one-to-one and each text has one id). Everything is seeded and
deterministic: gold pairs are shuffled and split into ``dev`` (BUCC "sample") and ``test`` by
``dev_fraction``; each split gets ``n_distractors`` distractors per side; each side is shuffled and
numbered ``<code>-000001``... (``de-000123`` / ``en-000456``), as BUCC numbers its sentences.

:func:`write_bucc_layout` writes BUCC's files (``<pair>.<split>.<lang>`` = ``id \\t sentence``,
``<pair>.<split>.gold`` = ``src_id \\t tgt_id``), which xgap's BUCC loader reads like the real
distribution (SPEC §7); :func:`read_bucc_layout` reads them back.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

from xgap.data.examples import MiningCorpus
from xgap.data.readers import read_bucc, read_tatoeba
from xgap.errors import XgapError

# ISO 639-3 (Tatoeba file names) -> ISO 639-1 for XTREME's languages (XTREME evaluate_retrieval.py)
ISO3_TO_ISO1 = {
    "afr": "af", "ara": "ar", "ben": "bn", "bul": "bg", "cmn": "zh", "deu": "de", "ell": "el", "eng": "en",
    "est": "et", "eus": "eu", "fin": "fi", "fra": "fr", "heb": "he", "hin": "hi", "hun": "hu", "ind": "id",
    "ita": "it", "jav": "jv", "jpn": "ja", "kat": "ka", "kaz": "kk", "kor": "ko", "mal": "ml", "mar": "mr",
    "nld": "nl", "pes": "fa", "por": "pt", "rus": "ru", "spa": "es", "swh": "sw", "tam": "ta", "tel": "te",
    "tgl": "tl", "tha": "th", "tur": "tr", "urd": "ur", "vie": "vi",
}


def read_tatoeba_pairs(tatoeba_dir: str | os.PathLike, lang_iso3: str) -> list[tuple[str, str]]:
    """``(xx sentence, English sentence)`` pairs of ``tatoeba.<iso3>-eng.{<iso3>,eng}``, in line order."""
    folder = Path(tatoeba_dir)
    src_file = folder / f"tatoeba.{lang_iso3}-eng.{lang_iso3}"
    eng_file = folder / f"tatoeba.{lang_iso3}-eng.eng"
    for f in (src_file, eng_file):
        if not f.is_file():
            raise XgapError(f"Tatoeba file not found: {f} (expected LASER's layout tatoeba.<iso3>-eng.<iso3>/.eng)")
    bitext = read_tatoeba(src_file, eng_file)
    return list(zip(bitext.source, bitext.target))


def tatoeba_languages(tatoeba_dir: str | os.PathLike) -> list[str]:
    """ISO 639-3 codes with both Tatoeba files present, sorted."""
    folder = Path(tatoeba_dir)
    if not folder.is_dir():
        raise XgapError(f"Tatoeba folder not found: {folder}")
    out = []
    for p in folder.glob("tatoeba.*-eng.eng"):
        code = p.name[len("tatoeba."): -len("-eng.eng")]
        if (folder / f"tatoeba.{code}-eng.{code}").is_file():
            out.append(code)
    return sorted(out)


def _clean(text: str) -> str:
    # BUCC files are `id \t sentence` lines: a tab or newline inside a sentence would corrupt them
    return " ".join(text.replace("\t", " ").split("\n")) if ("\t" in text or "\n" in text) else text


def build_pseudo_bucc(
    tatoeba_dir: str | os.PathLike,
    lang_iso3: str,
    n_distractors: int = 2000,
    seed: int = 0,
    dev_fraction: float = 0.5,
    src_code: str | None = None,
    distractor_langs: Sequence[str] | None = None,
) -> dict[str, MiningCorpus]:
    """``{"dev": MiningCorpus, "test": MiningCorpus}`` for ``lang_iso3`` paired with English.

    ``n_distractors`` distractor sentences are added to *each side of each split*.
    ``src_code`` names the source ids (default: the ISO 639-1 code, e.g. ``de``);
    ``distractor_langs`` restricts the languages distractors are drawn from (default: all others).
    """
    if not 0.0 < dev_fraction < 1.0:
        raise XgapError(f"dev_fraction must be between 0 and 1 (got {dev_fraction})")
    if n_distractors < 0:
        raise XgapError(f"n_distractors must be >= 0 (got {n_distractors})")
    rng = random.Random(seed)
    code = src_code or ISO3_TO_ISO1.get(lang_iso3, lang_iso3)

    gold_pairs: list[tuple[str, str]] = []
    seen_src: set[str] = set()
    seen_en: set[str] = set()
    for xx, en in read_tatoeba_pairs(tatoeba_dir, lang_iso3):
        xx, en = _clean(xx), _clean(en)
        if xx in seen_src or en in seen_en:
            continue  # keep gold one-to-one with one id per text
        seen_src.add(xx)
        seen_en.add(en)
        gold_pairs.append((xx, en))
    if len(gold_pairs) < 2:
        raise XgapError(f"Tatoeba {lang_iso3}: too few distinct pairs ({len(gold_pairs)}) for a dev/test mining set")
    rng.shuffle(gold_pairs)
    n_dev = min(max(1, round(len(gold_pairs) * dev_fraction)), len(gold_pairs) - 1)
    gold_by_split = {"dev": gold_pairs[:n_dev], "test": gold_pairs[n_dev:]}

    langs = list(distractor_langs) if distractor_langs is not None else tatoeba_languages(tatoeba_dir)
    pool: list[tuple[str, str]] = []
    for other in sorted(set(langs) - {lang_iso3, "eng"}):
        pool.extend((_clean(a), _clean(b)) for a, b in read_tatoeba_pairs(tatoeba_dir, other))
    rng.shuffle(pool)

    need = 2 * n_distractors
    en_d: list[str] = []  # English distractors
    en_d_set: set[str] = set()
    en_d_src: set[str] = set()  # their foreign translations
    fx_d: list[str] = []  # foreign distractors
    fx_d_set: set[str] = set()
    fx_d_en: set[str] = set()  # their English translations
    for foreign, english in pool:
        if len(en_d) >= need and len(fx_d) >= need:
            break
        want_en = len(en_d) < need and (len(en_d) <= len(fx_d) or len(fx_d) >= need)
        if want_en:
            if english in seen_en or english in en_d_set or english in fx_d_en:
                continue
            if foreign in fx_d_set or foreign in seen_src:
                continue
            en_d.append(english)
            en_d_set.add(english)
            en_d_src.add(foreign)
        else:
            if foreign in seen_src or foreign in fx_d_set or foreign in en_d_src:
                continue
            if english in seen_en or english in en_d_set:
                continue
            fx_d.append(foreign)
            fx_d_set.add(foreign)
            fx_d_en.add(english)
    if len(en_d) < need or len(fx_d) < need:
        raise XgapError(
            f"not enough distractor sentences in {tatoeba_dir} for {n_distractors} per side and split "
            f"(found {len(en_d)} English, {len(fx_d)} foreign of {need} each); lower n_distractors"
        )

    out: dict[str, MiningCorpus] = {}
    for s, split in enumerate(("dev", "test")):
        gold = gold_by_split[split]
        src_side = [(xx, True) for xx, _ in gold] + [(t, False) for t in fx_d[s * n_distractors:(s + 1) * n_distractors]]
        tgt_side = [(en, True) for _, en in gold] + [(t, False) for t in en_d[s * n_distractors:(s + 1) * n_distractors]]
        rng.shuffle(src_side)
        rng.shuffle(tgt_side)
        source = {f"{code}-{i + 1:06d}": t for i, (t, _) in enumerate(src_side)}
        target = {f"en-{i + 1:06d}": t for i, (t, _) in enumerate(tgt_side)}
        src_id = {t: i for i, t in source.items()}
        tgt_id = {t: i for i, t in target.items()}
        pairs = {(src_id[xx], tgt_id[en]) for xx, en in gold}
        out[split] = MiningCorpus(source=source, target=target, gold=pairs)
    return out


def write_bucc_layout(corpus_by_split: Mapping[str, MiningCorpus], out_dir: str | os.PathLike,
                      pair: str = "de-en") -> list[Path]:
    """Write BUCC's files for each split: ``<pair>.<split>.<src>``, ``.<tgt>`` and ``.gold``."""
    try:
        src_lang, tgt_lang = pair.split("-")
    except ValueError:
        raise XgapError(f"BUCC pair must look like 'de-en' (got '{pair}')") from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for split, corpus in corpus_by_split.items():
        for lang, side in ((src_lang, corpus.source), (tgt_lang, corpus.target)):
            path = out / f"{pair}.{split}.{lang}"
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                for sid, text in side.items():
                    if "\t" in sid or "\t" in text or "\n" in text:
                        raise XgapError(f"{path}: id/sentence {sid!r} contains a tab or newline")
                    fh.write(f"{sid}\t{text}\n")
            written.append(path)
        path = out / f"{pair}.{split}.gold"
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            for s, t in sorted(corpus.gold):
                fh.write(f"{s}\t{t}\n")
        written.append(path)
    return written


def read_bucc_layout(folder: str | os.PathLike, pair: str, split: str) -> MiningCorpus:
    """Read ``<pair>.<split>.<src>``, ``.<tgt>`` and (if present) ``.gold`` back into a MiningCorpus."""
    src_lang, tgt_lang = pair.split("-")
    folder = Path(folder)
    for lang in (src_lang, tgt_lang):
        f = folder / f"{pair}.{split}.{lang}"
        if not f.is_file():
            raise XgapError(f"BUCC file not found: {f}")
    return read_bucc(folder / f"{pair}.{split}", src_lang, tgt_lang)
