"""The messages of the visible checks come from the graders: one place for every hint a student reads.

Each lab's visible-checks cell holds a block, between MESSAGES_BEGIN and MESSAGES_END, with HINTS (the lab's
graders/labs/<lab>/checks.py), CRASH_HINTS and PRECISION_HINT (graders/judging.py), written by `python -m graders embed`;
tests/test_notebooks.py fails when a notebook's copy is stale.
"""

import pprint

from graders import judging, labs

VISIBLE_CHECKS_CELL = "visible_checks"
MESSAGES_BEGIN = "# --- messages, written from graders/ by `python -m graders embed`: do not edit here ---"
MESSAGES_END = "# --- end of messages ---"


def messages_block(lab):
    """The block of the lab's visible-checks cell that holds its messages."""
    hints = labs.part(lab, "checks").HINTS
    return "\n".join(
        [
            MESSAGES_BEGIN,
            "HINTS = " + pprint.pformat(hints, width=116, sort_dicts=False),
            "CRASH_HINTS = " + pprint.pformat(judging.CRASH_HINTS, width=116),
            f"PRECISION, PRECISION_HINT = {judging.PRECISION!r}, {judging.PRECISION_HINT!r}",
            MESSAGES_END,
        ]
    )


def written_block(source):
    """The messages block as it stands in a cell's source."""
    start, end = source.index(MESSAGES_BEGIN), source.index(MESSAGES_END) + len(MESSAGES_END)
    return source[start:end]


def embed_messages(notebook, lab):
    """Write the current messages block into the notebook's visible-checks cell; returns the notebook."""
    cell = next(c for c in notebook.cells if c.get("id") == VISIBLE_CHECKS_CELL)
    cell.source = cell.source.replace(written_block(cell.source), messages_block(lab))
    return notebook
