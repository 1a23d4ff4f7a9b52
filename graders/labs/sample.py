"""Samples: known-good, known-bad, cheating, unanswered and broken submissions, what each lab's samples.py is made of.

Each sample is a release notebook with some solution cells replaced (and, for broken ones, the file
damaged afterwards). They are materialised from the committed release, so they never drift from it;
`expected_scores` is what grading must give each test cell, asserted in tests/test_sample_class.py.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import nbformat

SOURCE = Path(__file__).resolve().parents[2] / "source"


def reference_answers(lab):
    """The source notebook's solution cells (code and written answers), by grade_id."""
    notebook = nbformat.read(SOURCE / lab / f"{lab}.ipynb", as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }


def replaced(text, old, new):
    """text with old replaced, failing loudly if old is not there (the reference solution changed)."""
    if old not in text:
        raise ValueError(f"{old!r} is not in the reference solution any more; update this sample")
    return text.replace(old, new)


@dataclass(frozen=True)
class Sample:
    student: str
    about: str
    cells: dict = field(default_factory=dict)  # grade_id → replacement source
    loses: tuple = ()  # test cells that must score 0
    damage: Optional[Callable[[str], str]] = None  # applied to the written .ipynb text
    graded: bool = True  # False: nbgrader cannot grade it at all (every cell None)
    partial: dict = field(default_factory=dict)  # test cells scoring part of their points: grade_id → points

    def notebook(self, release):
        notebook = nbformat.from_dict(release)  # a deep copy
        unknown = set(self.cells) - {c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells}
        if unknown:
            raise KeyError(f"sample {self.student}: no cells {sorted(unknown)} in the release")
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in self.cells:
                cell.source = self.cells[grade_id]
        return notebook

    def notebook_text(self, release):
        text = nbformat.writes(self.notebook(release))
        return self.damage(text) if self.damage else text

    def expected_scores(self, max_scores):
        """{grade_id: points}: test cells full, 0, or the partial points stated; a written answer waits for a
        person (None), an untouched one nbgrader scores 0 by itself."""
        if not self.graded:
            return dict.fromkeys(max_scores)
        return {
            grade_id: (0.0 if grade_id in self.loses else float(self.partial.get(grade_id, points)))
            if grade_id.startswith("test_")
            else (None if grade_id in self.cells else 0.0)
            for grade_id, points in max_scores.items()
        }
