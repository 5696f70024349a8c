"""A submission manifest (``submissions/<id>.yaml``): the typed :class:`Manifest` and its one parser.

Every manifest -- a file given to ``xgap run`` / ``submit check`` / ``import-reported``, or the one a
result store keeps in ``<submission>/manifest.json`` -- is checked against
``schemas/submission.schema.json`` by :meth:`Manifest.parse` before any field is read, so code
reads fields by name and never meets a half-valid document. The document itself is kept as given
(:attr:`Manifest.doc`): the store writes it back verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xgap.validation import check


@dataclass(frozen=True)
class Manifest:
    """A schema-valid submission manifest; the properties are its fields (optional ones with their defaults)."""

    doc: dict

    @classmethod
    def parse(cls, doc, where: str) -> Manifest:
        """Check ``doc`` against the schema (:class:`~xgap.errors.ValidationFailed` naming ``where``)."""
        check(doc, "submission", where)
        return cls(doc)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Read and check a manifest file (YAML or JSON)."""
        from xgap.yamlio import read_yaml

        return cls.parse(read_yaml(path), str(path))

    @property
    def id(self) -> str:
        return self.doc["id"]

    @property
    def name(self) -> str:
        return self.doc["name"]

    @property
    def model(self) -> dict:
        """Where the weights are: ``hub`` (+ ``revision``), ``path`` or ``package``; optional ``dtype``."""
        return self.doc["model"]

    @property
    def intermediate(self) -> str | list[str]:
        return self.doc["intermediate"]

    @property
    def tasks(self) -> dict:
        """Task -> its options (``checkpoint``, ``revision``, ``finetune``, ``label_map``, ``languages``); may be empty."""
        return self.doc.get("tasks") or {}

    @property
    def retrieval(self) -> dict:
        return self.doc.get("retrieval") or {}

    @property
    def prompts(self) -> dict | None:
        return self.doc.get("prompts")

    @property
    def claimed_parameters(self) -> int | None:
        return self.doc.get("claimed_parameters")

    @property
    def reported(self) -> bool:
        """Published figures only (``xgap import-reported``), never evaluated."""
        return bool(self.doc.get("reported"))
