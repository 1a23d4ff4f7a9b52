"""`python -m graders collect LAB DOWNLOAD`: work as the LMS hands it over, into submitted/<student>/<lab>/.

DOWNLOAD is an LMS bulk download (a zip from Canvas, Moodle or Blackboard) or a folder of <student>/<notebook>.
It goes through nbgrader's own `zip_collect` (its folders downloaded/<lab>/archive and extracted, its transfer and
timestamp.txt) with two plugins of this module: SafeExtractor unpacks the zip (and a zip a student handed in) with
no path outside its folder, no link, bounded sizes; LmsCollector reads who handed in what from each file's name by
the LMS's scheme (SCHEMES, or a regex of your own in nbgrader_config.py) and an optional roster.

nbgrader writes into a scratch folder; this command then moves each student's notebooks into submitted/, one
student at a time (a student who already has a submission keeps it unless --replace), and records every decision
in downloaded/<lab>/collected.csv: what went where, what was skipped and why, what was assumed. Nothing a student
named runs or decides a path: names are data, shown escaped.
"""

import csv
import hashlib
import io
import json
import logging
import os
import re
import shutil
import stat
import sys
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Enum, Int, Unicode
from traitlets.config import Config

from graders import course
from graders.grading.text import CONTROL, shown, spreadsheet_safe

# How each LMS names the files of its bulk download, as a regex over the file's path inside the download (named
# groups: lms_id, file_id; name, late, timestamp; context, what else names the person). Sources: docs/grading.md.
SCHEMES = {
    # Canvas (app/models/content_zipper.rb): <sortable name>[_late]_<user id>_<attachment id>_<file name>; older
    # Canvas wrote the late marker as "-late".
    "canvas": r"(?P<name>[^_/]+?)(?:[_-](?P<late>late))?_(?P<lms_id>\d+)_\d+_(?P<file_id>[^/].*)",
    # Moodle (mod/assign/locallib.php, download_submissions): <full name>_<participant id>_assignsubmission_file_
    # then the file name, or, with "download submissions in folders" (the default since Moodle 3.1), a folder of
    # that name holding the files.
    "moodle": r"(?P<name>[^_/]+)_(?P<lms_id>\d+)_assignsubmission_file_/?(?P<file_id>[^/].*)",
    # Blackboard Learn (nbgrader's own zip_collect example): <assignment>_<user name>_attempt_<YYYY-MM-DD-HH-MM-SS>_
    # <file name>; the time is the attempt's, in LmsCollector.timezone. The first such prefix is the LMS's: the file
    # name after it is the student's, and may imitate one.
    "blackboard": r"(?P<context>[^/]*?)_(?P<lms_id>[^_/]+)_attempt_(?P<timestamp>\d{4}(?:-\d\d){5})_(?P<file_id>[^/].*)",
    # A folder per student: <student id>/<notebook>, at any depth below it.
    "folders": r"(?P<lms_id>[^/]+)/(?P<file_id>.+)",
}
BLACKBOARD_TIME = re.compile(r"(\d{4}-\d\d-\d\d)-(\d\d)-(\d\d)-(\d\d)")
DETECTED_IN_ORDER = ("canvas", "moodle", "blackboard", "folders")
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
# Files that come with a download but are nobody's work: (test on the path's parts, reason).
JUNK = (
    (lambda parts: "__MACOSX" in parts, "macOS archive metadata (__MACOSX/)"),
    (lambda parts: parts[-1].startswith("._"), "macOS resource fork (._ file), not the notebook"),
    (lambda parts: ".ipynb_checkpoints" in parts, "a Jupyter checkpoint, not the notebook handed in"),
    (lambda parts: parts[-1] in ("Thumbs.db", "desktop.ini", ".DS_Store"), "operating-system file"),
    (lambda parts: any(p.startswith(".") for p in parts), "hidden file"),
)
MAX_NOTEBOOKS = 20  # from one student in one download: the rest is skipped, with the reason
COLLECTED, SKIPPED, KEPT = "collected", "skipped", "kept the earlier submission"


class CollectError(course.CourseError):
    """The download or the roster cannot be read as given: nothing was collected."""


def append_decision(record, **decision):
    """One decision (file, status, ...) appended to the JSON-lines record the collect command reads."""
    with open(record, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(decision) + "\n")


class _Recording:
    """A plugin that records each decision in its `record` file, when it has one."""

    def note(self, **decision):
        if self.record:
            append_decision(self.record, **decision)


class SafeExtractor(_Recording, ExtractorPlugin):
    """nbgrader's extractor step, safe for any zip: members land inside `extracted` or not at all (no absolute
    path, no `..`, no link), each at most max_member_bytes. A zip found inside (a student who zipped their work) is
    unpacked into a folder of its own name, one level deep, within a budget of its own (max_student_files,
    max_student_bytes), so that it cannot use up the download's (max_members, max_total_bytes)."""

    record = Unicode("", help="JSON-lines file the collect command reads").tag(config=True)
    max_member_bytes = Int(64 * 2**20, help="largest file taken from a zip (grading reads 64 MB)").tag(config=True)
    max_total_bytes = Int(2 * 2**30, help="most bytes unpacked from one download").tag(config=True)
    max_members = Int(20_000, help="most files taken from one download").tag(config=True)
    max_student_files = Int(200, help="most files taken from a student's own zip").tag(config=True)
    max_student_bytes = Int(256 * 2**20, help="most bytes unpacked from a student's own zip").tag(config=True)

    def extract(self, archive_path, extracted_path):
        self._download = Budget(self.max_members, self.max_total_bytes)
        archive_path, extracted_path = Path(archive_path), Path(extracted_path)
        for path in _files(archive_path):
            relative = path.relative_to(archive_path).as_posix()
            if path.is_symlink() or not path.is_file():
                self.note(file=relative, status=SKIPPED, reason="a link or a special file, not a file")
            elif "/" not in relative and zipfile.is_zipfile(path):  # the LMS's download itself
                self._unzip(path, extracted_path, "", self._download)
            elif relative.lower().endswith(".zip") and zipfile.is_zipfile(path):  # a student's own, in their folder
                self._unzip(path, extracted_path, relative[: -len(".zip")] + "/", self._student_budget())
            else:
                target = extracted_path / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)

    def _student_budget(self):
        return Budget(self.max_student_files, self.max_student_bytes, "the limit of one zip", self._download)

    def _unzip(self, path, destination, prefix, budget):
        try:
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
        except Exception as exc:  # damaged, or not a zip Python reads: that file alone
            self.note(file=prefix or path.name, status=SKIPPED, reason=f"the zip cannot be read ({exc})")
            return
        with zipfile.ZipFile(path) as archive:
            for member in members:
                name = prefix + member.filename.replace("\\", "/")
                try:
                    self._member(archive, member, destination, name, budget)
                except Exception as exc:  # one member that cannot be unpacked costs that file alone
                    reason = f"cannot be unpacked ({type(exc).__name__}: {str(exc)[:200]})"
                    self.note(file=name, status=SKIPPED, reason=reason)
        if budget.refused:  # once per zip, not a line per file
            where = prefix.rstrip("/") or path.name
            self.note(file=where, status=SKIPPED, reason=f"{budget.refused} more file(s) not taken: {budget.limit}")

    def _member(self, archive, member, destination, name, budget):
        parts = _parts(name)
        if member.is_dir():
            return
        if not parts or ".." in parts or member.filename.startswith(("/", "\\")) or DRIVE.fullmatch(parts[0]):
            self.note(file=name, status=SKIPPED, reason="a path outside the download (absolute or ..)")
            return
        if stat.S_ISLNK(member.external_attr >> 16):
            self.note(file=name, status=SKIPPED, reason="a link, not a file")
            return
        if member.file_size > self.max_member_bytes:
            self.note(file=name, status=SKIPPED, reason=f"too large ({member.file_size} bytes)")
            return
        if not budget.take(member.file_size):
            return
        target = destination.joinpath(*map(_fitting, parts))
        target.parent.mkdir(parents=True, exist_ok=True)
        created = False
        try:
            with archive.open(member) as source, open(target, "xb") as sink:  # "x": never over an earlier file
                created = True
                _copy_bounded(source, sink, member.file_size)
        except Exception:
            if created:  # half a file is no file
                target.unlink(missing_ok=True)
            raise
        if parts[-1].lower().endswith(".zip") and budget is self._download and zipfile.is_zipfile(target):
            # a student's own zip: its files go in a folder of its name, which keeps the LMS's prefix
            inner = "/".join(parts)[: -len(".zip")] + "/"
            self._unzip(target, destination, inner, self._student_budget())
            target.unlink()


@dataclass
class Budget:
    """Files and bytes a zip may still unpack (and, `within`, what the download still may): take() says whether a
    file fits, and counts the ones refused."""

    files: int
    size: int
    name: str = "the download's limit"
    within: "Budget" = None
    refused: int = 0
    limit: str = ""  # the name of the budget that refused the last file

    def take(self, size):
        budgets = [self, *([self.within] if self.within else [])]
        short = next((b for b in budgets if b.files <= 0 or size > b.size), None)
        if short:
            self.refused += 1
            self.limit = short.name
            return False
        for budget in budgets:
            budget.files, budget.size = budget.files - 1, budget.size - size
        return True


DRIVE = re.compile(r"[A-Za-z]:")


def _parts(name):
    return [part for part in name.split("/") if part not in ("", ".")]


def _fitting(part, limit=240):
    """A path part the file system takes (255 bytes at most): a longer one loses characters from its middle, so the
    LMS's prefix and the extension stay."""
    while len(part.encode("utf-8", "surrogateescape")) > limit:
        middle = len(part) // 2
        part = part[: middle - 1] + part[middle + 1 :]
    return part


def _files(folder):
    """Every entry below folder that is not a folder (files, links, special files); links never followed."""
    found = []
    for directory, subfolders, files in os.walk(folder):
        found += [Path(directory, name) for name in files]
        found += [Path(directory, name) for name in subfolders if Path(directory, name).is_symlink()]
    return sorted(found)


def _copy_bounded(source, sink, declared):
    """Copy at most the size the zip declares (a member that unpacks to more is cut there, not trusted)."""
    copied = 0
    while copied < declared:
        block = source.read(min(2**20, declared - copied))
        if not block:
            break
        sink.write(block)
        copied += len(block)


@dataclass
class Roster:
    """Course ids for LMS identities: by the LMS's id (lms_id column), else by the name the LMS shows (name)."""

    by_id: dict = field(default_factory=dict)
    by_name: dict = field(default_factory=dict)
    about: dict = field(default_factory=dict)  # student id → what nbgrader's gradebook keeps of them (STUDENT_FIELDS)
    shared_names: set = field(default_factory=set)  # names two students on the roster share: by lms_id only

    def students(self):
        return {*self.about, *self.by_id.values(), *self.by_name.values()}

    def find(self, lms_id, name):
        if lms_id in self.by_id:
            return self.by_id[lms_id]
        key = _name_key(name or "")
        return None if key in self.shared_names else self.by_name.get(key)


def _name_key(name):
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def read_roster(path):
    """A roster CSV (UTF-8, a spreadsheet's BOM allowed): a header with student_id and lms_id and/or name. Every
    student id must be one nbgrader and a spreadsheet can take; else CollectError listing the rows."""
    if not path:
        return None
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CollectError(f"the roster {path} cannot be read: {exc}") from exc
    columns = set(rows[0]) if rows else set()
    if "student_id" not in columns or not columns & {"lms_id", "name"}:
        raise CollectError(
            f"the roster {path} needs a header row with student_id and lms_id and/or name (it has: "
            f"{', '.join(sorted(map(shown, columns))) or 'nothing'})"
        )
    roster, wrong, folded = Roster(), [], {}
    for number, row in enumerate(rows, start=2):
        student = (row.get("student_id") or "").strip()
        if not STUDENT_ID.fullmatch(student) or folded.setdefault(student.casefold(), student) != student:
            wrong.append(f"line {number}: {shown(student)!r}")
            continue
        if (row.get("lms_id") or "").strip():
            roster.by_id[row["lms_id"].strip()] = student
        name = _name_key(row.get("name") or "")
        if name and roster.by_name.get(name, student) != student:
            roster.shared_names.add(name)  # two students of one name: the name finds neither
        elif name:
            roster.by_name[name] = student
        roster.about[student] = {
            field: (row.get(column) or "").strip() or None for column, field in STUDENT_FIELDS.items()
        }
    if wrong:
        raise CollectError(
            f"the roster {path} has student ids that are not usable as folder names (letters, digits and ._@+- "
            f"only, starting with a letter or digit, at most 64, not another's in other case): {'; '.join(wrong[:5])}"
        )
    return roster


# Roster columns nbgrader's gradebook keeps of a student (the export shows them): column → Student field.
STUDENT_FIELDS = {"first_name": "first_name", "last_name": "last_name", "email": "email", "lms_id": "lms_user_id"}


def record_students(root, roster):
    """Every roster student in the course's gradebook, with their names, email and LMS id where the roster has
    them: the export then has a row for each, blank with a status for one who handed in nothing, and the LMS id
    an upload to the LMS matches on."""
    from nbgrader.api import Gradebook

    course.scripts_on_path()  # a new gradebook asks alembic for its schema version
    with Gradebook(course.layout(root).db_url) as gradebook:
        for student, about in roster.about.items():
            gradebook.update_or_create_student(student, **{k: v for k, v in about.items() if v})


def slug(text):
    """A readable student id from an LMS name: accents dropped, lower case, other characters as '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:64]


def match(scheme_or_regex, relative):
    pattern = SCHEMES.get(scheme_or_regex, scheme_or_regex)
    return re.fullmatch(pattern, relative, re.IGNORECASE | re.DOTALL)


def junk(relative):
    """Why a file in the download is nobody's work, or None."""
    parts = relative.split("/")
    return next((reason for test, reason in JUNK if test(parts)), None)


class LmsCollector(_Recording, FileNameCollectorPlugin):
    """nbgrader's collector step: the student and file of each extracted file, from its path by the scheme."""

    record = Unicode("", help="JSON-lines file the collect command reads").tag(config=True)
    scheme = Enum(list(SCHEMES), default_value="folders", help="how the LMS names files").tag(config=True)
    # roster and timezone are read by the collect command, which settles who is who before nbgrader runs
    roster = Unicode("", help="CSV of student_id with lms_id and/or name").tag(config=True)
    timezone = Unicode("UTC", help="time zone of the download's times (file names, times file)").tag(config=True)
    wrapper = Unicode("", help="the one folder the whole download sits in, set by the collect command").tag(config=True)
    identities = Unicode("", help="JSON {lms_id: {student, timestamp}}, written by the collect command").tag(
        config=True
    )

    def collect(self, submitted_file):
        extracted = Path(self.parent._format_collect_path(self.parent.extracted_directory))
        relative = Path(submitted_file).relative_to(extracted).as_posix()
        relative = relative.removeprefix(f"{self.wrapper}/") if self.wrapper else relative
        found = match(self.named_regexp or self.scheme, relative)
        reason = junk(relative)
        if not reason and not relative.lower().endswith(".ipynb"):
            reason = "not a notebook (.ipynb)"
        if not reason and not found:
            reason = f"the name is not in the {self.named_regexp and 'configured' or self.scheme} scheme"
        ids = self._identities()
        if not reason and found.group("lms_id") not in ids:
            reason = "no student id could be made from it"
        if not reason and ids[found.group("lms_id")]["refused"]:
            reason = ids[found.group("lms_id")]["refused"]
        if reason:
            self.note(file=relative, status=SKIPPED, reason=reason)
            return None
        groups = found.groupdict()
        student, timestamp = ids[groups["lms_id"]]["student"], ids[groups["lms_id"]]["timestamp"]
        file_id = self._file_id(student, groups["file_id"])
        if file_id is None:
            self.note(file=relative, status=SKIPPED, reason=f"more than {MAX_NOTEBOOKS} notebooks from one student")
            return None
        self.note(
            file=relative,
            status=COLLECTED,
            student=student,
            destination=file_id,
            late=bool(groups.get("late")),
            timestamp=timestamp or "",
        )
        return {"student_id": student, "file_id": file_id, "timestamp": timestamp}

    def _identities(self):
        """{lms_id: {student, timestamp, refused}} as the collect command settled them, read once."""
        if "_ids" not in self.__dict__:
            self._ids = json.loads(Path(self.identities).read_text()) if self.identities else {}
        return self._ids

    def _file_id(self, student, name):
        """The student's own file name, made safe and unique for them; a notebook in a folder of theirs (their own
        zip, Moodle's folders) comes to the top of their submission, where grading looks."""
        path = CONTROL.sub("", name.replace("\\", "/").split("/")[-1]).strip()[: -len(".ipynb")] + ".ipynb"
        path = path if path not in (".ipynb", "..ipynb") else "notebook.ipynb"  # .IPYNB read as what it is
        taken = self.__dict__.setdefault("_taken", {}).setdefault(student, set())
        if len(taken) >= MAX_NOTEBOOKS:
            return None
        stem, number, unique = path[: -len(".ipynb")], 2, path
        while unique.casefold() in taken:
            unique, number = f"{stem} ({number}).ipynb", number + 1
        taken.add(unique.casefold())
        return unique


def identities(paths, scheme, roster, times, timezone):
    """{lms_id: {student, timestamp, refused}} for every LMS identity in the download's notebooks, and notes on what
    was assumed (student_ids). The submission time: the file name's (Blackboard, in `timezone`), else the times
    file's (read_times: by LMS id, else by name), else none; one nbgrader cannot read is left out, with a note."""
    from nbgrader.utils import parse_utc

    ids, refused, notes = student_ids(paths, scheme, roster)
    by_id, by_name = times
    stamps = {}
    for relative in paths:
        found = match(scheme, relative)
        if not found or found.group("lms_id") not in ids:
            continue
        groups = found.groupdict()
        lms_id, stamp = groups["lms_id"], groups.get("timestamp")
        stamp = BLACKBOARD_TIME.sub(r"\1 \2:\3:\4", stamp) + " -" if stamp else by_id.get(lms_id)
        stamp = stamp or by_name.get(_name_key(groups.get("name") or ""))
        if stamp and stamp.endswith(" -"):  # a time without a zone of its own: the download's
            stamp = f"{stamp[:-2]} {timezone}"
        try:
            when = parse_utc(stamp) if stamp else None
        except (ValueError, OverflowError):
            notes.append(f"{shown(relative)}: the time {shown(stamp)!r} cannot be read; collected without a time")
            continue
        if when and (lms_id not in stamps or when > stamps[lms_id]):
            stamps[lms_id] = when
    found = {
        lms_id: {"student": student, "timestamp": f"{stamps[lms_id]} UTC" if lms_id in stamps else "", "refused": ""}
        for lms_id, student in ids.items()
    }
    found.update({lms_id: {"student": "", "timestamp": "", "refused": why} for lms_id, why in refused.items()})
    return found, notes


AMBIGUOUS_DATE = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.]\d{2,4}\b.*")


def read_times(path):
    """Submission times from a CSV the LMS exports (Moodle's grading worksheet, or your own): ({lms id: time},
    {name: time}, notes), each time 'YYYY-MM-DD HH:MM:SS <zone>' ('-' when it has no zone of its own: the
    download's, LmsCollector.timezone). Identity columns lms_id or Moodle's Identifier ('Participant 501'), and name
    or Full name; time column submitted_at or Moodle's 'Last modified (submission)'. A time that cannot be read for
    sure (not a date, a zone abbreviation, 04/12/2026), and a name two rows share, are left out with a note."""
    if not path:
        return {}, {}, []
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CollectError(f"the times file {path} cannot be read: {exc}") from exc
    by_id, by_name, notes, shared = {}, {}, [], set()
    for number, row in enumerate(rows, start=2):
        text = (row.get("submitted_at") or row.get("Last modified (submission)") or "").strip()
        if not text or text == "-":
            continue
        when = _time(text)
        if when is None:
            notes.append(f"the times file, line {number}: {shown(text)!r} is not a time read for sure; left out")
            continue
        lms_id = (row.get("lms_id") or re.sub(r"\D", "", row.get("Identifier") or "")).strip()
        name = _name_key(row.get("name") or row.get("Full name") or "")
        if lms_id:
            by_id[lms_id] = when
        if name and by_name.get(name, when) != when:
            shared.add(name)
        elif name:
            by_name[name] = when
    for name in shared:
        by_name.pop(name, None)
        notes.append(f"the times file gives {shown(name)!r} two times: used only by LMS id")
    return by_id, by_name, notes


def _time(text):
    """'YYYY-MM-DD HH:MM:SS <zone>' for a time dateutil reads with no guess, else None."""
    import warnings

    import dateutil.parser

    ambiguous = AMBIGUOUS_DATE.fullmatch(text)
    if ambiguous and ambiguous[1] != ambiguous[2] and max(int(ambiguous[1]), int(ambiguous[2])) <= 12:
        return None  # 04/12/2026: April or December
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # dateutil only warns about a zone abbreviation it does not know (EST)
        try:
            parsed = dateutil.parser.parse(text)
        except (ValueError, OverflowError, Warning):
            return None
    if parsed.tzinfo is not None:  # a time with its own offset: that instant, in UTC
        return f"{(parsed - parsed.utcoffset()).replace(tzinfo=None):%Y-%m-%d %H:%M:%S} UTC"
    return f"{parsed:%Y-%m-%d %H:%M:%S} -"


def student_ids(paths, scheme, roster):
    """({lms_id: student id}, {lms_id: why refused}, notes) for every LMS identity in the download's notebooks.
    The roster's id where it lists them; else an id made from the LMS's name (Canvas, Moodle) or the folder's or
    user name (folders, Blackboard). A made id never takes a roster id or another's, in any case (alex-kim-503,
    alex-kim-504); a name with no Latin letters gets one from its LMS id (student-<hash>). An LMS id that comes with
    two different names is refused: its files could be two people's."""
    seen = {}
    for relative in paths:
        found = match(scheme, relative)
        if found and not junk(relative) and relative.lower().endswith(".ipynb"):
            groups = found.groupdict()
            seen.setdefault(groups["lms_id"], set()).add((groups.get("name") or "", groups.get("context") or ""))
    refused = {
        lms_id: f"the LMS id {shown(lms_id)} comes with {len(names)} different names in the download "
        f"({', '.join(sorted(shown(n or c) for n, c in names))}): not collected, check the download"
        for lms_id, names in seen.items()
        if len(names) > 1
    }
    names = {lms_id: next(iter(found))[0] for lms_id, found in seen.items() if lms_id not in refused}
    ids, made, notes = {}, {}, []
    for lms_id, name in names.items():
        listed = roster.find(lms_id, name) if roster else None
        if listed:
            ids[lms_id] = listed
        else:
            made[lms_id] = slug(name or lms_id) or _hashed(lms_id)
    taken = {student.casefold() for student in [*ids.values(), *(roster.students() if roster else ())]}
    wanted = {}
    for base in made.values():
        wanted[base] = wanted.get(base, 0) + 1
    for lms_id, base in sorted(made.items()):
        student, who = base, f"{shown(names[lms_id] or lms_id)} (LMS id {shown(lms_id)})"
        if base in taken or wanted[base] > 1:
            student = f"{base}-{slug(lms_id) or _hashed(lms_id)}"[:64]
            while student.casefold() in taken:
                student = f"{student[:58]}-{_hashed(student)[-4:]}"
            notes.append(
                f"{who} would be {base}, which is taken: collected as {student} (a roster names them for good)"
            )
        elif roster and _name_key(names[lms_id]) in roster.shared_names:
            notes.append(f"{who}: the roster has two students of this name: collected as {student} (add lms_id)")
        elif roster:
            notes.append(f"{who} is not on the roster: collected as {student}")
        elif not slug(names[lms_id] or lms_id):
            notes.append(f"{who} has no Latin letters: collected as {student}")
        ids[lms_id] = student
        taken.add(student.casefold())
    return ids, refused, notes


def _hashed(text):
    return "student-" + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def detect_scheme(paths):
    """The first scheme that names most of the download's notebooks; CollectError when none does."""
    notebooks = [p for p in paths if p.lower().endswith(".ipynb") and not junk(p)]
    for scheme in DETECTED_IN_ORDER:
        if notebooks and sum(bool(match(scheme, p)) for p in notebooks) * 2 > len(notebooks):
            return scheme
    raise CollectError(
        f"no scheme ({', '.join(SCHEMES)}) names most of the {len(notebooks)} notebook(s) in the download: give "
        "--scheme, or a regex of your own as c.LmsCollector.named_regexp in nbgrader_config.py (docs/grading.md)"
    )


@dataclass
class Intake:
    """What a collect run did: every file's decision, the scheme, the notes on what was assumed."""

    scheme: str
    decisions: list
    notes: list
    missing: list  # roster students with nothing collected


def _listing(download):
    """Every file's path inside the download, as the extractor lays them out: a folder's files or the zip's
    members, and a student's own zip's members in a folder of its name."""

    def inside(name, opened):
        if not name.lower().endswith(".zip"):
            return []
        try:
            with zipfile.ZipFile(opened()) as inner:
                return [f"{name[: -len('.zip')]}/{n.filename}" for n in inner.infolist() if not n.is_dir()]
        except Exception:  # a student's zip that cannot be read: the extractor says so
            return []

    if download.is_dir():
        names = [p.relative_to(download).as_posix() for p in _files(download) if p.is_file() and not p.is_symlink()]
        return names + [n for name in names for n in inside(name, lambda name=name: download / name)]
    try:
        with zipfile.ZipFile(download) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            names = [m.filename.replace("\\", "/") for m in members]
            for member, name in zip(members, names):
                if member.file_size < 64 * 2**20:
                    names = names + inside(name, lambda member=member: archive.open(member))
            return names
    except Exception as exc:
        raise CollectError(f"the download cannot be read as a zip ({type(exc).__name__}: {exc})") from exc


def _unwrapped(paths):
    """(paths, wrapper): the download's paths inside the one folder it all sits in (a class's folder, a zip of it),
    when inside it an LMS's scheme or several students' folders are found; else (paths, '')."""
    kept = [p for p in paths if not junk(p)]
    tops = {p.split("/", 1)[0] for p in kept}
    if len(tops) != 1 or not all("/" in p for p in kept):
        return paths, ""
    wrapper = tops.pop()
    inside = [p.removeprefix(f"{wrapper}/") for p in paths]
    try:
        scheme = detect_scheme(inside)
    except CollectError:
        return paths, ""
    students = {p.split("/", 1)[0] for p in inside if "/" in p and p.lower().endswith(".ipynb") and not junk(p)}
    return (inside, wrapper) if scheme != "folders" or len(students) > 1 else (paths, "")


def collect(lab, download, root=course.ROOT, scheme=None, roster_path=None, times_path=None, replace=False):
    """Collect a download into submitted/<student>/<lab>/ through nbgrader zip_collect; returns the Intake."""
    download = Path(download).resolve()
    if not download.is_dir() and not (download.is_file() and zipfile.is_zipfile(download)):
        raise CollectError(f"{download} is neither a zip file nor a folder")
    where, config = course.layout(root), course.nbgrader_config(root)
    collector = config.get("LmsCollector", {})
    roster_path = roster_path or collector.get("roster") or ""
    roster = read_roster(roster_path)
    paths, wrapper = _unwrapped(_listing(download))
    regex = collector.get("named_regexp")
    scheme = scheme or collector.get("scheme") or (regex and "configured") or detect_scheme(paths)
    timezone = collector.get("timezone", "UTC")
    by_id, by_name, notes = read_times(times_path)
    ids, said = identities(paths, regex or scheme, roster, (by_id, by_name), timezone)
    notes += said + ([f"the download is one folder, '{shown(wrapper)}/': read inside it"] if wrapper else [])

    folders = downloaded(root, lab)
    scratch, record, identities_file = folders / "collecting", folders / "decisions.jsonl", folders / "identities.json"
    for stale in (folders / "archive", folders / "extracted", scratch):
        shutil.rmtree(stale, ignore_errors=True)
    record.unlink(missing_ok=True)
    folders.mkdir(parents=True, exist_ok=True)
    identities_file.write_text(json.dumps(ids))
    if download.is_dir():  # its contents, so that paths inside are as the instructor sees them
        try:
            shutil.copytree(download, folders / "archive", symlinks=True)
        except shutil.Error as exc:  # a pipe, a socket, an unreadable file: the rest is copied
            for source, _, why in exc.args[0]:
                file = Path(source).relative_to(download).as_posix()
                append_decision(record, file=file, status=SKIPPED, reason=f"cannot be copied ({why})")
    else:
        (folders / "archive").mkdir(parents=True)
        shutil.copyfile(download, folders / "archive" / download.name)
    zip_collect(
        root,
        lab,
        {
            "ZipCollectApp": {"force": True, "extractor_plugin": SafeExtractor, "collector_plugin": LmsCollector},
            "SafeExtractor": {"record": str(record)},
            "LmsCollector": {
                "record": str(record),
                **({"scheme": scheme} if scheme in SCHEMES else {}),
                "identities": str(identities_file),
                "wrapper": wrapper,
            },
            "CourseDirectory": {"submitted_directory": str(scratch)},
        },
    )
    decisions = (
        [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()] if record.exists() else []
    )
    _move_in(scratch, where.submitted, lab, decisions, replace)
    shutil.rmtree(scratch, ignore_errors=True)
    handed_in = {d["student"] for d in decisions if d["status"] in (COLLECTED, KEPT)}
    missing = sorted(roster.students() - handed_in) if roster else []
    if roster:
        record_students(root, roster)
    write_record(folders / "collected.csv", decisions)
    _remember_late(folders / "marked_late.json", decisions)
    return Intake(scheme=scheme, decisions=decisions, notes=notes, missing=missing)


# What nbgrader's applications read to configure logging for the whole process (traitlets' dictConfig, which closes
# every handler): the course's configuration may set them for its own commands; the collect command keeps them out.
PROCESS_LOGGING = ("log_level", "log_format", "log_datefmt", "logging_config")


def zip_collect(root, lab, settings):
    """nbgrader zip_collect of `lab` in this process (nbgrader's import, a second, is not paid again), configured as
    nbgrader's own command is in the course folder (plugins kept there found), `settings` on top. A refusal or a
    bad setting raises CourseError with nbgrader's reason; its log is kept from the terminal and from the process's
    logging (the collect command reports per file instead)."""
    from nbgrader.apps.zipcollectapp import ZipCollectApp
    from nbgrader.coursedir import CourseDirectory

    config = course.nbgrader_config(root)
    for section in ("Application", "JupyterApp", "NbGrader", "ZipCollectApp"):
        for key in PROCESS_LOGGING if section in config else ():
            config[section].pop(key, None)
    config.merge(Config(settings))
    said = io.StringIO()
    handler = logging.StreamHandler(said)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    log = logging.getLogger("graders.zip_collect")
    log.propagate, log.handlers = False, [handler]
    folder = config.CourseDirectory.root  # where the course's configuration puts it (as course.layout reads it)
    sys.path.insert(0, folder)  # as for nbgrader's command, started in the course folder
    try:
        app = ZipCollectApp(config=config, log=log)  # a logger of its own: the default one is configured globally
        app.coursedir = CourseDirectory(parent=app)
        app.coursedir.assignment_id = lab
        app.start()
    except SystemExit:  # nbgrader's fail(): its reason is the last error it logged
        raise course.failure(f"nbgrader zip_collect {lab}", course.nbgrader_said(said.getvalue()), lab) from None
    except Exception as exc:  # a setting of the wrong type, a folder that cannot be made: Ctrl-C goes through
        raise course.failure(f"nbgrader zip_collect {lab}", f"{type(exc).__name__}: {exc}", lab) from None
    finally:
        sys.path.remove(folder)
        log.handlers = [logging.NullHandler()]


def _move_in(scratch, submitted, lab, decisions, replace):
    """Each collected student's folder into submitted/, alone: one that already holds a submission is kept unless
    `replace`, and that student's files say so."""
    for student in sorted({d["student"] for d in decisions if d["status"] == COLLECTED}):
        source, target = scratch / student / lab, submitted / student / lab
        if target.exists() and any(target.iterdir()) and not replace:
            for decision in decisions:
                if decision.get("student") == student:
                    decision.update(status=KEPT, reason=f"submitted/{student}/{lab} already has one (--replace)")
            continue
        for path in source.iterdir():  # zip_collect gives back the file's own extension: .IPYNB as .ipynb
            if path.suffix.lower() == ".ipynb" and path.suffix != ".ipynb":
                path.rename(path.with_suffix(".ipynb"))
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)


def downloaded(root, lab):
    """downloaded/<lab>/: nbgrader zip_collect's folder for the lab (ZipCollectApp.downloaded_directory)."""
    name = course.nbgrader_config(root).get("ZipCollectApp", {}).get("downloaded_directory", "downloaded")
    return course.layout(root).root / name / lab


RECORD_COLUMNS = ["file", "status", "student", "destination", "late", "timestamp", "reason"]


def write_record(path, decisions):
    """Every decision of this collect appended to the lab's record, with the collect's time (UTC): earlier runs'
    rows stay."""
    import datetime

    run = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    new = not path.is_file()
    with open(path, "a", newline="", encoding="utf-8", errors="backslashreplace") as handle:
        writer = csv.DictWriter(handle, ["collected_at", *RECORD_COLUMNS], extrasaction="ignore")
        if new:
            writer.writeheader()
        for decision in decisions:
            writer.writerow({"collected_at": run, **{k: spreadsheet_safe(decision.get(k, "")) for k in RECORD_COLUMNS}})


def _remember_late(path, decisions):
    """The LMS's late mark of each student whose work this collect brought in; a student it kept (or did not see)
    keeps the mark their submission came with."""
    known = json.loads(path.read_text()) if path.is_file() else {}
    collected = [d for d in decisions if d["status"] == COLLECTED]
    known.update({d["student"]: False for d in collected})
    known.update({d["student"]: True for d in collected if d.get("late")})
    path.write_text(json.dumps(known, indent=1, sort_keys=True))


def marked_late(root, lab):
    """Students whose submission of the lab the LMS marked late (Canvas): its download gives no time, so this is a
    flag beside nbgrader's own lateness, not a penalty."""
    path = downloaded(root, lab) / "marked_late.json"
    return {student for student, late in json.loads(path.read_text()).items() if late} if path.is_file() else set()


def report(intake, lab, download):
    """The terminal report: where each file went, what was skipped and why, what was assumed."""
    lines = [f"{shown(download.name)} (scheme: {intake.scheme}):"]
    groups = {status: [d for d in intake.decisions if d["status"] == status] for status in (COLLECTED, KEPT, SKIPPED)}
    students = sorted({d["student"] for d in groups[COLLECTED]})
    lines.append(f"collected {len(groups[COLLECTED])} notebook(s) of {len(students)} student(s):")
    for decision in groups[COLLECTED]:
        extra = ", marked late by the LMS" if decision.get("late") else ""
        extra += f", handed in {decision['timestamp']}" if decision.get("timestamp") else ""
        lines.append(
            f"  {shown(decision['file'])}  ->  submitted/{decision['student']}/{lab}/{shown(decision['destination'])}"
            + extra
        )
    for title, status in (("not collected, the earlier submission kept", KEPT), ("skipped", SKIPPED)):
        if groups[status]:
            lines.append(f"{title} ({len(groups[status])}):")
            lines += [f"  {shown(d['file'])}: {shown(d['reason'])}" for d in groups[status]]
    lines += [f"note: {note}" for note in intake.notes]
    if intake.missing:
        lines.append(f"on the roster, nothing collected: {', '.join(intake.missing)}")
    return "\n".join(lines)
