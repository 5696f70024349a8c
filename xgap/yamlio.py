"""YAML reading with errors that name the file and line (never a traceback), and resource limits.

Why the limits: cards, manifests and experiment specs can come from strangers. A "billion laughs"
document (aliases of aliases) is small on disk and in PyYAML's reference graph, but anything that
walks it -- a schema error message, ``json.dumps`` for a hash -- expands it exponentially (one such
manifest grew past 5.5 GB). So a file must be a regular file below :data:`MAX_BYTES`, may use at
most :data:`MAX_ALIASES` aliases, and its fully expanded size (nodes plus string characters, as
every later consumer sees it) must stay below :data:`MAX_EXPANDED`. Special files (a FIFO named
``card.yaml``) are refused without being opened for reading.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from xgap.errors import XgapError

#: Largest YAML/JSON document read (the largest card is a few kB).
MAX_BYTES = 4 << 20
#: Aliases (``*name``) per document; the shipped cards use none.
MAX_ALIASES = 100
#: Expanded size budget: one unit per node plus one per character of every string.
MAX_EXPANDED = 2_000_000


def read_document_bytes(path: str | Path, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; a one-line error otherwise.

    The file is checked with ``stat`` first and opened non-blocking, so a FIFO or device never
    blocks or streams without end.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise XgapError(f"{p}: file not found") from None
    except OSError as exc:
        raise XgapError(f"{p}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise XgapError(f"{p}: not a regular file (a folder, FIFO or device) - fix: give the path of a plain file")
    if st.st_size > max_bytes:
        raise XgapError(f"{p}: {st.st_size:,} bytes is larger than the {max_bytes:,}-byte limit for this kind of file")
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped between stat and open
                raise XgapError(f"{p}: not a regular file - fix: give the path of a plain file")
            with os.fdopen(fd, "rb", closefd=False) as fh:
                data = fh.read(max_bytes + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise XgapError(f"{p}: cannot read ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise XgapError(f"{p}: larger than the {max_bytes:,}-byte limit for this kind of file")
    return data


def read_document_text(path: str | Path, max_bytes: int = MAX_BYTES) -> str:
    """:func:`read_document_bytes` decoded as UTF-8 (a one-line error naming the byte otherwise)."""
    data = read_document_bytes(path, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise XgapError(f"{path}: not UTF-8 text (byte {exc.start}) - fix: save the file as UTF-8") from None


def _loader_class():
    import yaml

    class LimitedLoader(yaml.SafeLoader):
        """SafeLoader that counts aliases while composing (before anything is built)."""

        aliases = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.events.AliasEvent):
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    mark = self.peek_event().start_mark
                    raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (line {mark.line + 1}): refused as a possible "
                                         "alias bomb")
            return super().compose_node(parent, index)

    return LimitedLoader


def expanded_size(obj, budget: int = MAX_EXPANDED) -> int:
    """Size of ``obj`` with every shared reference counted again (as a serialiser would see it);
    stops counting once ``budget`` is exceeded (so the walk itself stays cheap)."""
    total, stack = 0, [obj]
    while stack:
        x = stack.pop()
        total += 1 + (len(x) if isinstance(x, (str, bytes)) else 0)
        if total > budget:
            return total
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
    return total


def read_yaml(path: str | Path):
    import yaml

    p = Path(path)
    text = read_document_text(p)
    try:
        loader = _loader_class()(text)
        try:
            doc = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise XgapError(f"{p}{where}: invalid YAML ({str(problem)[:200]}) - fix: correct the syntax at that position") from None
    except RecursionError:
        raise XgapError(f"{p}: YAML nested too deeply - fix: flatten the document") from None
    if expanded_size(doc) > MAX_EXPANDED:
        raise XgapError(f"{p}: the document expands to more than {MAX_EXPANDED:,} nodes and characters (aliases of "
                        "aliases?) - refused; fix: write the values out")
    return doc
