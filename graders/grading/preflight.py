"""Pre-flight: read a submission however damaged, and rebuild it on the release's cells.

nbgrader aborts a whole batch on a duplicated grade_id or a changed schema_version, and silently scores
what it cannot match. Here every submission becomes a *canonical* notebook: the release's cells, in the
release's order and with the release's metadata, holding the student's answers (found by grade_id, else by
the function a cell defines), with the student's own extra cells kept after the answer they followed.
What cannot be read is rejected with the reason; every repair is reported.
"""
import ast
import json
from dataclasses import dataclass, field

import nbformat


class Rejected(Exception):
    """The submission cannot be graded; the message says why, for the report."""


@dataclass
class Preflight:
    notebook: nbformat.NotebookNode
    repairs: list = field(default_factory=list)   # what was fixed, for the report (a "note")
    concerns: list = field(default_factory=list)  # what a person should look at ("needs review")


def _grade_id(cell):
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def _defined_functions(source):
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def read_submission(text):
    """The submission as an nbformat v4 notebook, or Rejected with the reason."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise Rejected(f"the file is not a notebook (not valid JSON: {exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells", raw.get("worksheets")), list):
        raise Rejected("the file is JSON but not a Jupyter notebook (no cells)")
    try:
        notebook = nbformat.reads(json.dumps(raw), as_version=4)
    except Exception as exc:  # nbformat raises several types for notebooks it cannot convert
        raise Rejected(f"the notebook format cannot be read ({type(exc).__name__}: {exc})") from None
    for cell in notebook.cells:
        if cell.get("cell_type") not in ("code", "markdown", "raw") or not isinstance(cell.get("source", ""), str):
            raise Rejected("the notebook has a cell that is neither code, markdown nor raw")
    return notebook


def canonicalize(text, release):
    """Preflight of one submission's text against the release notebook."""
    student = read_submission(text)
    by_id = {_grade_id(c): c for c in release.cells if _grade_id(c)}
    solution_ids = [gid for gid, c in by_id.items() if c.metadata["nbgrader"].get("solution")]
    code_solutions = {gid for gid in solution_ids if by_id[gid].cell_type == "code"}
    result = Preflight(notebook=None)

    # Release cells without grading metadata (instructions, plots) are matched by cell id or by source;
    # students may write in them, so their text is kept, as nbgrader keeps it.
    plain = {c.id: c for c in release.cells if not _grade_id(c) and c.get("id")}
    plain_by_source = {c.source: c.id for c in plain.values()}
    answers, extras, kept_plain, seen, anchor = {}, {}, {}, set(), None
    for cell in student.cells:
        gid = _grade_id(cell)
        match = gid if gid in by_id else None
        if match is None and cell.cell_type == "code":
            defined = _defined_functions(cell.source) & code_solutions
            if len(defined) == 1 and next(iter(defined)) not in answers:
                match = next(iter(defined))
                result.repairs.append(f"the answer to '{match}' was found by the function it defines"
                                      + (f" (its cell said grade_id '{gid}')" if gid else ""))
        if match is None and not gid:
            plain_id = cell.get("id") if cell.get("id") in plain else plain_by_source.get(cell.source)
            if plain_id and plain_id not in kept_plain and plain[plain_id].cell_type == cell.cell_type:
                kept_plain[plain_id] = cell
                anchor = plain_id
                continue
        if match in seen:
            what = "answer" if match in solution_ids else "locked"
            result.repairs.append(f"a duplicate of {what} cell '{match}' "
                                  + ("is kept as an ordinary cell" if what == "answer" else "was removed"))
            if what == "answer":
                extras.setdefault(anchor, []).append(cell)
            continue
        if match in solution_ids:
            answers[match] = cell
        elif match is not None:  # a locked cell: its content comes from the release, whatever they did
            if cell.source != by_id[match].source:
                (result.concerns if match.startswith("test_") else result.repairs).append(
                    f"locked cell '{match}' was edited; the original was restored")
        else:
            if gid:
                result.repairs.append(f"a cell with unknown grade_id '{gid}' is kept as an ordinary cell")
            extras.setdefault(anchor, []).append(cell)
            continue
        seen.add(match)
        anchor = match

    for gid in by_id:
        if gid not in solution_ids and gid not in seen:
            (result.concerns if gid.startswith("test_") else result.repairs).append(
                f"locked cell '{gid}' was missing; the original was restored")
    missing = [gid for gid in solution_ids if gid not in answers]
    if missing:
        result.repairs.append(f"no answer found for {', '.join(missing)} (graded as unanswered)")

    cells = [_ordinary(c, f"student-cell-{i}") for i, c in enumerate(extras.get(None, []))]
    counter = len(cells)
    for template in release.cells:
        key = _grade_id(template) or template.get("id")
        cell = nbformat.from_dict(template)
        if key in answers:
            cell.source = answers[key].source
        elif key in kept_plain:
            cell.source = kept_plain[key].source
        cells.append(cell)
        for extra in extras.get(key, []) if key else []:
            cells.append(_ordinary(extra, f"student-cell-{counter}"))
            counter += 1
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=nbformat.from_dict(release.metadata))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    result.notebook = notebook
    return result


def _ordinary(cell, cell_id):
    """A student's own cell, without grading metadata or outputs."""
    source = cell.get("source", "")
    if cell.cell_type == "code":
        return nbformat.v4.new_code_cell(source, id=cell_id)
    if cell.cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(source, id=cell_id)
    return nbformat.v4.new_raw_cell(source, id=cell_id)
