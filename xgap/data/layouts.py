"""Local file layouts: how the files of one original distribution are found and read.

A card's ``sources.local.layout`` names one :class:`Layout`. The built-in ones are listed here, one
line each (a layout is a property of the data, so it lives in the data layer); each format module
(:mod:`xgap.formats`) declares which layouts it reads, and a format brought in later adds its own
through :func:`register_layout` (called by :func:`xgap.formats.registry.register_format`).
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xgap.data import readers
from xgap.errors import XgapError


def one_or_glob(data_dir: Path, rel: str, lang: str, source: str) -> list[Path] | None:
    """The file ``rel`` under ``data_dir``, or the files a glob pattern ``rel`` matches (by name)."""
    if any(ch in rel for ch in "*?["):
        found = sorted((Path(p) for p in glob.glob(str(data_dir / rel))), key=lambda p: p.name)
        return found or None
    return [data_dir / rel] if (data_dir / rel).is_file() else None


def _tatoeba_files(data_dir: Path, rel: str, lang: str, source: str) -> list[Path] | None:
    pair = [data_dir / f"{rel}.{source}", data_dir / f"{rel}.eng"]
    return pair if all(p.is_file() for p in pair) else None


def _bucc_files(data_dir: Path, rel: str, lang: str, source: str) -> list[Path] | None:
    pair = [data_dir / f"{rel}.{lang}", data_dir / f"{rel}.en"]
    if not all(p.is_file() for p in pair):
        return None
    gold = data_dir / f"{rel}.gold"
    return pair + ([gold] if gold.is_file() else [])


def each_file(read: Callable[[Path], list]) -> Callable:
    """A layout reader applying ``read`` to each found file in order and concatenating the examples."""
    return lambda card, lang, files: [ex for f in files for ex in read(f)]


def _glue_tsv(card, lang: str, files: list[Path]):
    inputs = card.sources["local"].get("fields") or card.data.get("inputs", {})
    return [ex for f in files for ex in readers.read_glue_tsv(f, inputs.get("text_a", "sentence1"), inputs.get("text_b"), inputs.get("label", "label"))]


def _bucc(card, lang: str, files: list[Path]):
    return readers.read_bucc(Path(str(files[0])[: -len(f".{lang}")]), lang, "en")


@dataclass(frozen=True)
class Layout:
    """``read(card, lang, files) -> examples``; ``find(data_dir, rel, lang, source) -> files | None``
    locates the files of one filled-in ``paths`` template."""

    name: str
    read: Callable
    find: Callable[[Path, str, str, str], list[Path] | None] = one_or_glob


# One line per layout.
TATOEBA = Layout("tatoeba", lambda card, lang, files: readers.read_tatoeba(files[0], files[1]), _tatoeba_files)
SQUAD_JSON = Layout("squad-json", each_file(readers.read_squad_json))
CONLLU = Layout("conllu", lambda card, lang, files: readers.read_conllu(files))
PAWSX_TSV = Layout("pawsx-tsv", each_file(readers.read_pawsx_tsv))
XNLI_TSV = Layout("xnli-tsv", lambda card, lang, files: [ex for f in files for ex in readers.read_xnli_tsv(f, card.label_aliases)])
PANX = Layout("panx", each_file(readers.read_panx))
CCG_TSV = Layout("ccg-tsv", each_file(readers.read_ccg_tsv))
BUCC = Layout("bucc", _bucc, _bucc_files)
GLUE_TSV = Layout("glue-tsv", _glue_tsv)

_LAYOUTS: dict[str, Layout] = {x.name: x for x in (TATOEBA, SQUAD_JSON, CONLLU, PAWSX_TSV, XNLI_TSV, PANX, CCG_TSV, BUCC, GLUE_TSV)}


def register_layout(layout: Layout) -> Layout:
    """Add ``layout`` (the same definition again is a no-op; another one under a taken name is an error)."""
    old = _LAYOUTS.get(layout.name)
    if old is not None and old != layout:
        raise XgapError(f"local layout '{layout.name}' is already registered with another reader")
    _LAYOUTS[layout.name] = layout
    return layout


def layout_for(card) -> Layout:
    name = card.sources["local"]["layout"]
    if name not in _LAYOUTS:
        raise XgapError(f"task '{card.name}': no reader for local layout '{name}'")
    return _LAYOUTS[name]


def layout_names() -> list[str]:
    return list(_LAYOUTS)
