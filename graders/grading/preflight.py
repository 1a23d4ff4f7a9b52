"""Pre-flight: read a submission however damaged, and rebuild it on the release's cells.

nbgrader aborts a whole batch on a duplicated grade_id or a changed schema_version, and silently scores
what it cannot match. Here every submission becomes a *canonical* notebook: the release's cells, in the
release's order and with the release's metadata, holding the student's answers (found by grade_id, else by
the function a cell defines), with the student's own extra cells kept after the answer they followed.
What cannot be read is rejected with the reason; every repair is reported.
"""

import ast
import codecs
import bisect
import itertools
import json
import os
import re
import stat
from dataclasses import dataclass, field

import nbformat

from graders.course import grade_id


class Rejected(Exception):
    """The submission cannot be graded; the message says why, for the report."""


@dataclass
class Preflight:
    notebook: nbformat.NotebookNode
    repairs: list = field(default_factory=list)  # what was fixed, for the report (a "note")
    concerns: list = field(default_factory=list)  # what a person should look at ("needs review")


MAX_FILE_BYTES = 64 * 1024**2  # a Colab file keeps every plot it drew: 20 MB is reached by honest work
MAX_CELLS = 2000
NBGRADER_KEYS = {
    "grade_id": str,
    "solution": bool,
    "grade": bool,
    "locked": bool,
    "task": bool,
    "points": (int, float),
    "schema_version": int,
}
CELL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
BAD_CHARACTERS = re.compile("[\ud800-\udfff\x00]")


def _defined_functions(source):
    try:
        tree = ast.parse(source)
    except Exception:  # a syntax error, or code too deeply nested for the parser: it defines nothing we can use
        return set()
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def read_file(path):
    """The text of a submitted file: a regular file (not a link), at most MAX_FILE_BYTES, in UTF-8 (with or without
    a byte-order mark, invalid bytes replaced) or in UTF-16 with its byte-order mark (Windows editors' "Unicode")."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise Rejected(f"the file cannot be opened ({exc.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise Rejected("the notebook is not a regular file")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Rejected(f"the file is larger than {MAX_FILE_BYTES // 1024**2} MB")
    if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def _text(value):
    """A cell's source as one string (nbformat allows a list of lines), without lone surrogates or NUL."""
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        value = "".join(value)
    if not isinstance(value, str):
        return None
    return BAD_CHARACTERS.sub("\ufffd", value)


def _clean_cell(raw):
    """A cell reduced to what grading reads: type, source, nbgrader metadata of the known keys, and id."""
    if not isinstance(raw, dict) or raw.get("cell_type") not in ("code", "markdown", "raw"):
        return None
    source = _text(raw.get("source", ""))
    if source is None:
        return None
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    grading = metadata.get("nbgrader") if isinstance(metadata.get("nbgrader"), dict) else {}
    kept = {
        k: v
        for k, v in grading.items()
        if k in NBGRADER_KEYS
        and type(v) in (NBGRADER_KEYS[k] if isinstance(NBGRADER_KEYS[k], tuple) else (NBGRADER_KEYS[k],))
    }
    if "grade_id" in kept:
        kept["grade_id"] = BAD_CHARACTERS.sub("\ufffd", kept["grade_id"])[:200]
    cell = {"cell_type": raw["cell_type"], "source": source, "metadata": {"nbgrader": kept} if kept else {}}
    if cell["cell_type"] == "code":
        cell.update(outputs=[], execution_count=None)
    for key, value in (("id", raw.get("id")), ("metadata_id", metadata.get("id"))):
        if isinstance(value, str) and CELL_ID.match(value):
            if key == "id":
                cell["id"] = value
            else:
                cell["metadata"]["id"] = value
    return nbformat.from_dict(cell)


def read_submission(text):
    """The submission as a notebook of clean cells, and what had to be dropped; or Rejected with the reason."""
    try:
        raw = json.loads(text)
    except RecursionError:
        raise Rejected("the file is JSON nested too deeply to read") from None
    except ValueError as exc:
        raise Rejected(f"the file is not a notebook (not valid JSON: {exc})") from None
    # How deep outputs and metadata nest does not matter: _clean_cell keeps only flat, typed parts of a cell.
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        if isinstance(raw, dict) and "worksheets" in raw:
            raise Rejected("the notebook is in the old nbformat 3; open and save it in Jupyter to convert it")
        raise Rejected("the file is JSON but not a Jupyter notebook (no cells)")
    if len(raw["cells"]) > MAX_CELLS:
        raise Rejected(f"the notebook has {len(raw['cells'])} cells, more than {MAX_CELLS}")
    cells = [_clean_cell(c) for c in raw["cells"]]
    dropped = sum(c is None for c in cells)
    notebook = nbformat.from_dict(
        {"cells": [c for c in cells if c is not None], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    )
    return notebook, (
        [f"{dropped} cell(s) that are not code, markdown or raw cells with text were left out"] if dropped else []
    )


def _cell_id(cell):
    """A cell's id: nbformat 4.5 keeps it on the cell, Colab (nbformat 4.0) in metadata.id."""
    return cell.get("id") or cell.get("metadata", {}).get("id")


def _normalized(source):
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _release_keys(release):
    """Each release cell's key, in order: its grade_id, or the id of a plain cell."""
    return [grade_id(c) or c.get("id") for c in release.cells]


def _names(keys):
    return ", ".join(f"'{k}'" for k in keys)


class _Matching:
    """The passes of match_cells, in order of trust, over one student notebook and the release."""

    def __init__(self, student, release):
        self.student, self.cells = student, student.cells
        self.by_id = {grade_id(c): c for c in release.cells if grade_id(c)}
        self.answers = {gid for gid, c in self.by_id.items() if c.metadata["nbgrader"].get("solution")}
        self.release_keys = _release_keys(release)
        self.plain = {c.id: c for c in release.cells if not grade_id(c) and c.get("id")}
        self.matched, self.duplicates, self.restored, self.order = {}, [], {}, {}

    def take(self, index, key, how=None):
        self.matched[index], self.order[key] = key, index
        if how:
            self.restored[key] = how

    def free(self, code_only=False):
        """The student cells no pass has taken yet (nor marked a duplicate), with their indices."""
        return [
            (index, cell)
            for index, cell in enumerate(self.cells)
            if index not in self.matched
            and index not in self.duplicates
            and (cell.cell_type == "code" or not code_only)
        ]

    def by_grade_id(self):
        for index, cell in enumerate(self.cells):
            gid = grade_id(cell)
            if gid in self.by_id:
                if gid in self.order:
                    self.duplicates.append(index)
                else:
                    self.take(index, gid)

    def by_source_or_id(self):
        """A locked cell by its exact source; a plain cell by its id or its text."""
        locked = {_normalized(c.source): gid for gid, c in self.by_id.items() if gid not in self.answers}
        plain_by_source = {_normalized(c.source): key for key, c in self.plain.items()}
        for index, cell in self.free():
            source = _normalized(cell.source)
            key = locked.get(source)
            if key and key not in self.order and self.by_id[key].cell_type == cell.cell_type:
                self.take(index, key, "source")
                continue
            key = _cell_id(cell) if _cell_id(cell) in self.plain else plain_by_source.get(source)
            if key and key not in self.order and self.plain[key].cell_type == cell.cell_type:
                self.take(index, key)

    def by_function(self):
        """A code cell defining exactly one graded function not matched yet: as in the student's kernel, the
        definition in force when the cell after it in the release (its test) runs."""
        code_answers = {gid for gid in self.answers if self.by_id[gid].cell_type == "code"}
        candidates = {}
        for index, cell in self.free(code_only=True):
            defined = (_defined_functions(cell.source) & code_answers) - set(self.order)
            if len(defined) == 1:
                candidates.setdefault(defined.pop(), []).append(index)
        for name, indices in candidates.items():
            following = self.release_keys[self.release_keys.index(name) + 1 :][:1]
            check = self.order.get(following[0], len(self.cells)) if following else len(self.cells)
            self.take(([i for i in indices if i < check] or indices)[-1], name, "function")

    def by_position(self):
        """A written answer (or any answer still missing): the first free cell of its type right after the release
        cell it follows, before the next matched cell."""
        for key in [k for k in self.release_keys if k in self.answers and k not in self.order]:
            previous = self.release_keys[self.release_keys.index(key) - 1]
            for index in range(self.order.get(previous, len(self.cells)) + 1, len(self.cells)):
                if index in self.matched:
                    break
                if index not in self.duplicates and self.cells[index].cell_type == self.by_id[key].cell_type:
                    self.take(index, key, "position")
                    break


def match_cells(student, release):
    """{student cell index: release key (grade_id, or cell id of a plain cell)}, the duplicates' indices, and
    how the grading metadata of each match without it was restored.

    In order of trust: a grade_id the release knows; the exact source of a locked cell; the id or text of a
    plain cell; the one graded function a code cell defines (the last definition before the cell that follows
    it in the release, as in a kernel); for a written answer, its place right after the release cell it follows.
    A grade_id is used once: the first cell wins, later copies are duplicates.
    """
    matching = _Matching(student, release)
    for matching_pass in (matching.by_grade_id, matching.by_source_or_id, matching.by_function, matching.by_position):
        matching_pass()
    return matching.matched, matching.duplicates, matching.restored


RESTORED_HOW = {
    "source": "by the locked cell's source",
    "function": "by the function defined",
    "position": "by position after the cell it follows",
}


def canonicalize(text, release):
    """Preflight of one submission's text against the release notebook: the student's cells matched to the
    release's, what was repaired and what a person should see reported, the notebook rebuilt in release order."""
    student, dropped = read_submission(text)
    by_id = {grade_id(c): c for c in release.cells if grade_id(c)}
    answers = [gid for gid, c in by_id.items() if c.metadata["nbgrader"].get("solution")]
    matched, duplicates, restored = match_cells(student, release)
    result = Preflight(notebook=None, repairs=list(dropped))
    _report_matches(result, student, matched, duplicates, restored, by_id, answers)
    elsewhere = _report_missing(result, student, set(matched.values()), by_id, answers)
    extras = _student_cells(result, student, matched, duplicates, answers, release)
    result.notebook = _assemble(release, student, matched, extras, by_id, answers, elsewhere)
    return result


def _report_matches(result, student, matched, duplicates, restored, by_id, answers):
    """How each cell was matched, where that needed saying: metadata restored, locked cells edited, unknown grade
    ids, duplicates."""
    found = [
        f"{phrase}: {_names(k for k, kind in restored.items() if kind == way)}"
        for way, phrase in RESTORED_HOW.items()
        if way in restored.values()
    ]
    if found:
        result.repairs.append("grading metadata restored by matching cells to the release (" + "; ".join(found) + ")")
    for index, cell in enumerate(student.cells):
        gid = grade_id(cell)
        key = matched.get(index)
        if key in by_id and key not in answers and _normalized(cell.source) != _normalized(by_id[key].source):
            (result.concerns if key.startswith("test_") else result.repairs).append(
                f"locked cell '{key}' was edited; the original was restored"
            )
        if key in restored and gid:
            result.repairs.append(
                f"the cell '{key}' was found {RESTORED_HOW[restored[key]]} (its cell said grade_id '{gid}')"
            )
        elif key is None and gid and gid not in by_id:
            result.repairs.append(f"a cell with unknown grade_id '{gid}' is kept as an ordinary cell")
    for index in duplicates:
        gid = grade_id(student.cells[index])
        result.repairs.append(
            f"a duplicate of {'answer' if gid in answers else 'locked'} cell '{gid}' "
            + ("is kept as an ordinary cell" if gid in answers else "was removed")
        )


def _report_missing(result, student, present, by_id, answers):
    """Locked cells and answers the student's notebook lacks; returns the answers written inside another cell."""
    for gid in by_id:
        if gid not in answers and gid not in present:
            (result.concerns if gid.startswith("test_") else result.repairs).append(
                f"locked cell '{gid}' was missing (deleted, or edited without its grading metadata); "
                "the original was restored"
            )
    missing = [gid for gid in answers if gid not in present]
    # A function written inside another cell (two answers in one, the second cell deleted) is the student's answer:
    # the release's stub in its place would replace it before the check runs. (Parsed only when an answer is missing.)
    missing_code = [gid for gid in missing if by_id[gid].cell_type == "code"]
    cells = [c for c in student.cells if c.cell_type == "code"] if missing_code else []
    defined = set().union(*(_defined_functions(c.source) for c in cells))
    elsewhere = [gid for gid in missing_code if gid in defined]
    if elsewhere:
        result.repairs.append(f"no cell of its own for {_names(elsewhere)}: graded from its definition in another cell")
    unanswered = [gid for gid in missing if gid not in elsewhere]
    if unanswered:
        result.repairs.append(f"no answer found for {', '.join(unanswered)} (graded as unanswered)")
    return elsewhere


def _student_cells(result, student, matched, duplicates, answers, release):
    """{release key or None (the top): the student's own cells (and copies of answers) to keep after it}. Each
    stays after the last matched cell before it that is in the release's order (a copy of a later instruction near
    the top must not carry the cells after it down with it)."""
    anchors = _in_release_order(matched, _release_keys(release))
    extras, anchor = {}, None
    for index, cell in enumerate(student.cells):
        if index in matched:
            anchor = matched[index] if index in anchors else anchor
        elif index in duplicates and grade_id(cell) not in answers:
            continue
        else:
            extras.setdefault(anchor, []).append(cell)
    own = len(student.cells) - len(matched) - len(duplicates)
    if own:
        result.repairs.append(f"{own} cell(s) matching nothing in the release kept as ordinary cells (not graded)")
    return extras


def _assemble(release, student, matched, extras, by_id, answers, elsewhere):
    """The release's cells in order, answers and plain cells with the student's text (locked cells keep the
    release's), the student's own cells after their anchors; no outputs."""
    numbers = itertools.count()

    def own_cells(anchor):
        return [_ordinary(c, f"student-cell-{next(numbers)}") for c in extras.get(anchor, [])]

    content = {key: student.cells[index].source for index, key in matched.items()}
    cells = own_cells(None)
    for template in release.cells:
        key = grade_id(template) or template.id
        cell = nbformat.from_dict(template)
        if key in content and (key in answers or key not in by_id):
            cell.source = content[key]
        elif key in elsewhere:
            cell.source = f"# no cell of its own: {key} is defined in another cell of this notebook"
        cells += [cell, *own_cells(key)]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=nbformat.from_dict(release.metadata))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def _in_release_order(matched, release_keys):
    """The student cell indices of the longest run of matched cells whose release positions increase."""
    position = {key: i for i, key in enumerate(release_keys)}
    tails, tail_positions, previous = [], [], {}  # tails[k]: the cell ending the best increasing run of length k + 1
    for index in sorted(matched):
        place = bisect.bisect_left(tail_positions, position[matched[index]])
        previous[index] = tails[place - 1] if place else None
        tails[place : place + 1], tail_positions[place : place + 1] = [index], [position[matched[index]]]
    kept, index = set(), tails[-1] if tails else None
    while index is not None:
        kept.add(index)
        index = previous[index]
    return kept


def _ordinary(cell, cell_id):
    """A student's own cell, without grading metadata or outputs."""
    source = cell.get("source", "")
    if cell.cell_type == "code":
        return nbformat.v4.new_code_cell(source, id=cell_id)
    if cell.cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(source, id=cell_id)
    return nbformat.v4.new_raw_cell(source, id=cell_id)
