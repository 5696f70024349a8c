"""Readers for the original distributions' local layouts (SPEC §7).

Each reader takes file paths and returns normalised examples (:mod:`xgap.data.examples`). They are
deliberately strict: a malformed line raises :class:`XgapError` naming the file and line number.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

from xgap.data.examples import Answer, Bitext, MiningCorpus, QAExample, TaggedSentence, TextExample
from xgap.errors import XgapError


def read_lines(path: Path) -> list[str]:
    """The lines of a UTF-8 text file without their line ends, as iterating the open file yields
    them (the way XTREME's scripts read files): ``\\n``, ``\\r\\n`` and ``\\r`` end a line, nothing
    else does. The one line reader of xgap's file layouts (data readers, BUCC layout, scorer)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise XgapError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise XgapError(f"{path}: cannot read ({exc.strerror})") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def read_bucc_gold(path: Path) -> set[tuple[str, str]]:
    """BUCC gold ``src_id \\t tgt_id`` lines as a pair set (blank lines skipped, ids stripped).

    The one parser of the gold file: the data reader, the pseudo-BUCC layout and the scorer's
    gold/prediction pairs all read it here.
    """
    gold = set()
    for lineno, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) != 2:
            raise XgapError(f"{path}:{lineno}: expected 'src_id<TAB>tgt_id', got {len(cols)} field(s)")
        gold.add((cols[0].strip(), cols[1].strip()))
    return gold


def read_bucc_side(path: Path) -> dict[str, str]:
    """One side of a BUCC corpus: ``id \\t sentence`` lines as ``{id: sentence}`` (blank lines skipped)."""
    side = {}
    for lineno, line in enumerate(read_lines(path), 1):
        if not line:
            continue
        if "\t" not in line:
            raise XgapError(f"{path}:{lineno}: expected 'id<TAB>sentence'")
        i, s = line.split("\t", 1)
        side[i] = s
    return side


def read_tatoeba(source_file: Path, english_file: Path) -> Bitext:
    """LASER/XTREME Tatoeba: line i of the xx file translates line i of the .eng file."""
    src, eng = read_lines(source_file), read_lines(english_file)
    if len(src) != len(eng):
        raise XgapError(f"{source_file}: {len(src)} lines but {english_file} has {len(eng)}; the files must be line-aligned")
    return Bitext(source=src, target=eng)


def read_squad_json(path: Path) -> list[QAExample]:
    """SQuAD v1.1 JSON (``data -> paragraphs -> qas -> answers``): XQuAD, MLQA, TyDiQA-GoldP.

    Every level is checked: a file of another shape is one error naming the file and the JSON
    position (``data[3].paragraphs[0].context``), never a traceback.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise XgapError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except ValueError as exc:
        raise XgapError(f"{path}: invalid JSON ({str(exc)[:160]})") from None
    if not isinstance(doc, dict) or "data" not in doc:
        raise XgapError(f"{path}: not SQuAD v1.1 JSON (no top-level 'data')")

    def need(obj, key, kind, where):
        v = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(v, kind) or isinstance(v, bool):
            want = {list: "a list", dict: "an object", str: "a string", int: "a whole number"}.get(kind, kind.__name__)
            got = type(v).__name__ if isinstance(obj, dict) and key in obj else "nothing"
            raise XgapError(f"{path}: {where + '.' if where else ''}{key}: expected {want}, got {got} - fix: the file must follow the SQuAD v1.1 layout")
        return v

    out = []
    for i, article in enumerate(need(doc, "data", list, "")):
        at = f"data[{i}]"
        title = article.get("title", "") if isinstance(article, dict) else ""
        for j, para in enumerate(need(article, "paragraphs", list, at)):
            pt = f"{at}.paragraphs[{j}]"
            ctx = need(para, "context", str, pt)
            for k, qa in enumerate(need(para, "qas", list, pt)):
                qt = f"{pt}.qas[{k}]"
                if not isinstance(qa, dict):
                    raise XgapError(f"{path}: {qt}: expected an object with id, question, answers, got {type(qa).__name__} "
                                    "- fix: the file must follow the SQuAD v1.1 layout")
                answers = []
                for m, a in enumerate(need(qa, "answers", list, qt) if "answers" in qa else []):
                    answers.append(Answer(text=need(a, "text", str, f"{qt}.answers[{m}]"), start=need(a, "answer_start", int, f"{qt}.answers[{m}]")))
                if not isinstance(qa.get("id"), (str, int)) or isinstance(qa.get("id"), bool):
                    need(qa, "id", str, qt)
                out.append(QAExample(id=str(qa["id"]), context=ctx, question=need(qa, "question", str, qt), answers=tuple(answers), title=str(title)))
    return out


def read_conllu(paths: Iterable[Path]) -> list[TaggedSentence]:
    """CoNLL-U, word = FORM (col 2), tag = UPOS (col 4).

    Multi-word token ranges (``1-2``) and empty nodes (``1.1``) are skipped, so the words are the
    syntactic words UPOS tags belong to (e.g. German ``zum`` -> ``zu dem``), as XTREME's
    preprocessing does. Files are read in the given order (the loader sorts by file name).
    """
    out = []
    for path in paths:
        words, tags, sent_no = [], [], 0
        sent_id = None
        for lineno, line in enumerate(read_lines(path) + [""], 1):
            if not line.strip():
                if words:
                    out.append(TaggedSentence(id=sent_id or f"{path.stem}-{sent_no}", words=tuple(words), tags=tuple(tags)))
                    sent_no += 1
                words, tags, sent_id = [], [], None
                continue
            if line.startswith("#"):
                if line.startswith("# sent_id"):
                    sent_id = line.split("=", 1)[-1].strip()
                continue
            cols = line.split("\t")
            if len(cols) < 4:
                raise XgapError(f"{path}:{lineno}: expected 10 tab-separated CoNLL-U columns, found {len(cols)}")
            if "-" in cols[0] or "." in cols[0]:
                continue
            words.append(cols[1])
            tags.append(cols[3])
    return out


def read_pawsx_tsv(path: Path) -> list[TextExample]:
    """PAWS-X TSV with header ``id sentence1 sentence2 label``."""
    rows = read_lines(path)
    if not rows:
        return []
    header = rows[0].split("\t")
    need = ["sentence1", "sentence2", "label"]
    if not all(h in header for h in need):
        raise XgapError(f"{path}:1: expected a header with {', '.join(['id'] + need)}, found {header}")
    ix = {h: header.index(h) for h in header}
    out = []
    for lineno, line in enumerate(rows[1:], 2):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < len(header):
            raise XgapError(f"{path}:{lineno}: expected {len(header)} tab-separated columns, found {len(cols)}")
        ex_id = cols[ix["id"]] if "id" in ix else str(lineno - 1)
        out.append(TextExample(id=ex_id, text_a=cols[ix["sentence1"]], text_b=cols[ix["sentence2"]], label=cols[ix["label"]].strip()))
    return out


def read_xnli_tsv(path: Path, aliases: dict | None = None) -> list[TextExample]:
    """XNLI ``premise \\t hypothesis \\t label`` (no header; a header line is tolerated)."""
    aliases = aliases or {}
    out = []
    for lineno, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) != 3:
            raise XgapError(f"{path}:{lineno}: expected 3 tab-separated columns (premise, hypothesis, label), found {len(cols)}")
        if lineno == 1 and cols[2].strip().lower() in ("label", "gold_label"):
            continue
        label = cols[2].strip()
        out.append(TextExample(id=str(len(out)), text_a=cols[0], text_b=cols[1], label=aliases.get(label, label)))
    return out


def _token_tag_blocks(path: Path, parse) -> list[TaggedSentence]:
    """Blank-line-separated sentences of one ``token \t tag`` line per word; ``parse(cols, lineno)``
    turns a line's columns into ``(word, tag)``."""
    out, words, tags = [], [], []
    for lineno, line in enumerate(read_lines(path) + [""], 1):
        if not line.strip():
            if words:
                out.append(TaggedSentence(id=str(len(out)), words=tuple(words), tags=tuple(tags)))
            words, tags = [], []
            continue
        word, tag = parse(line.split("\t"), lineno)
        words.append(word)
        tags.append(tag)
    return out


def read_panx(path: Path) -> list[TaggedSentence]:
    """PAN-X ``lang:token \t tag`` lines, blank line between sentences.

    The language prefix is stripped up to the FIRST ``:`` only, so tokens that themselves contain a
    colon (``en:http://x``) keep it.
    """

    def parse(cols, lineno):
        if ":" not in cols[0]:
            raise XgapError(f"{path}:{lineno}: expected 'lang:token', found {cols[0]!r}")
        return cols[0].split(":", 1)[1], (cols[1].strip() if len(cols) > 1 else "O")

    return _token_tag_blocks(path, parse)


def read_ccg_tsv(path: Path) -> list[TaggedSentence]:
    """CCG supertags as ``word \t tag`` lines, blank line between sentences (user-supplied)."""

    def parse(cols, lineno):
        if len(cols) != 2:
            raise XgapError(f"{path}:{lineno}: expected 'word<TAB>tag', found {len(cols)} columns")
        return cols[0], cols[1].strip()

    return _token_tag_blocks(path, parse)


def read_glue_tsv(path: Path, text_a: str, text_b: str | None, label: str) -> list[TextExample]:
    """GLUE-style TSV with a header naming the columns (e.g. MNLI ``sentence1``/``gold_label``)."""
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        out = []
        for i, row in enumerate(reader):
            if text_a not in row:
                raise XgapError(f"{path}: no column '{text_a}' (columns: {', '.join(reader.fieldnames or [])})")
            out.append(TextExample(id=str(i), text_a=row[text_a], text_b=row.get(text_b) if text_b else None, label=row.get(label)))
    return out


def read_bucc(prefix: Path, src_lang: str, tgt_lang: str = "en") -> MiningCorpus:
    """BUCC ``<pair>.<split>.<lang>`` files of ``id \\t sentence`` plus ``<pair>.<split>.gold``."""
    base = str(prefix)
    src = read_bucc_side(Path(f"{base}.{src_lang}"))
    tgt = read_bucc_side(Path(f"{base}.{tgt_lang}"))
    gold_path = Path(f"{base}.gold")
    gold = read_bucc_gold(gold_path) if gold_path.exists() else set()
    return MiningCorpus(source=src, target=tgt, gold=gold)
