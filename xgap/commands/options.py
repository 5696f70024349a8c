"""Command-line flags shared by several subcommands (``run``, ``data check``, ``train``)."""

from __future__ import annotations

import argparse


def add_data_acceptance_arguments(p: argparse.ArgumentParser) -> None:
    """Overrides of the data checks in xgap.data.hub; both are recorded in the records' provenance."""
    p.add_argument("--accept-non-comparable-hub", action="store_true",
                   help="use hub copies the card declares not equal to the original (e.g. udpos el, bucc2018); "
                        "their records are marked non-comparable")
    p.add_argument("--accept-size-mismatch", action="store_true",
                   help="use data whose example count differs from the card's declared size (recorded as non-comparable)")
