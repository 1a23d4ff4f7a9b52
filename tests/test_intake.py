"""Submissions as LMSes hand them over: `collect` (nbgrader zip_collect with the course's plugins) from a Canvas and a
Moodle download to submitted/, then the documented term (grade, feedback, export) with late work flagged."""

import csv
import io
import json
import logging
import os
import stat
import subprocess
import sys
import zipfile

import nbformat
import pytest
from nbgrader.plugins import FileNameCollectorPlugin

from graders import course
from graders.grading import intake, report
from graders.samples import lms
from graders.samples.classroom import sample_class


@pytest.mark.parametrize(
    "scheme, path, groups",
    [
        ("canvas", "smithjane_1001_9001_autograd.ipynb", ("1001", "smithjane", None, "autograd.ipynb")),
        (
            "canvas",
            "doejohn_late_1002_9002_Copy of autograd.ipynb",
            ("1002", "doejohn", "late", "Copy of autograd.ipynb"),
        ),
        ("canvas", "doe--john-late_1002_9002_autograd-1.ipynb", ("1002", "doe--john", "late", "autograd-1.ipynb")),
        ("canvas", "doejohn_LATE_1002_9002_a_b_1.ipynb", ("1002", "doejohn", "LATE", "a_b_1.ipynb")),
        ("canvas", "kim_1006_9007_work/lab/autograd.ipynb", ("1006", "kim", None, "work/lab/autograd.ipynb")),
        (
            "moodle",
            "José Núñez_502_assignsubmission_file_/Copy of autograd.ipynb",
            ("502", "José Núñez", None, "Copy of autograd.ipynb"),
        ),
        (
            "moodle",
            "Jane Smith_501_assignsubmission_file_autograd.ipynb",
            ("501", "Jane Smith", None, "autograd.ipynb"),
        ),
        ("moodle", "Participant_77_assignsubmission_file_/x.ipynb", ("77", "Participant", None, "x.ipynb")),
        (
            "blackboard",
            "Lab 2_backprop_jsmith_attempt_2026-12-04-18-30-00_autograd.ipynb",
            ("jsmith", None, None, "autograd.ipynb"),
        ),
        ("folders", "ada/autograd.ipynb", ("ada", None, None, "autograd.ipynb")),
        ("folders", "ada/deeper/autograd.ipynb", ("ada", None, None, "deeper/autograd.ipynb")),
    ],
)
def test_each_lms_scheme_reads_who_handed_in_what(scheme, path, groups):
    found = intake.match(scheme, path).groupdict()
    assert (found["lms_id"], found.get("name"), found.get("late"), found["file_id"]) == groups
    others = [s for s in ("canvas", "moodle", "blackboard") if s != scheme]
    assert not any(intake.match(other, path) for other in others)


def test_the_scheme_is_detected_from_the_download_or_asked_for():
    release = nbformat.read(course.ROOT / "release" / lms.LAB / f"{lms.LAB}.ipynb", as_version=4)
    for scheme, download in (("canvas", lms.canvas_zip(release)), ("moodle", lms.moodle_zip(release))):
        with zipfile.ZipFile(io.BytesIO(download)) as archive:
            assert intake.detect_scheme(archive.namelist()) == scheme
    assert intake.detect_scheme(["ada/lab.ipynb", "bob/lab.ipynb", "readme.txt"]) == "folders"
    with pytest.raises(intake.CollectError, match="--scheme"):
        intake.detect_scheme(["lab.ipynb", "other.ipynb"])


def _zip(members, symlink=None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _damaged_zip():
    """A zip whose first member's compressed data is damaged (it cannot be unpacked); its second member is fine."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bad.ipynb", bytes(range(256)) * 3)
        archive.writestr("good.ipynb", b"{}")
    data = bytearray(buffer.getvalue())
    data[60:80] = b"\xff" * 20  # inside bad.ipynb's deflate stream
    return bytes(data)


def test_the_extractor_keeps_every_file_inside_and_bounded(tmp_path):
    archive, extracted = tmp_path / "archive", tmp_path / "extracted"
    archive.mkdir(), extracted.mkdir()
    inner = _zip({"lab/lab.ipynb": b"{}", "deeper.zip": _zip({"x.ipynb": b"{}"}), "../up.ipynb": b"{}"})
    members = {
        "../../escape.ipynb": b"{}",
        "/tmp/absolute.ipynb": b"{}",
        "..\\..\\windows.ipynb": b"{}",
        "C:/drive.ipynb": b"{}",
        "big_1_2_lab.ipynb": b"x" * 2000,
        "ok_1_2_lab.ipynb": b"{}",
        "eve_1_6_Lab 2: " + "解" * 90 + ".ipynb": b"{}",  # a colon, and longer than a file name may be
        "kim_1_3_work.zip": inner,
        "kim_1_3_work": b"a file where the zip's folder is",
        "lee_1_7_work.zip": _damaged_zip(),
        "zoe_1_8_lab.ipynb": b"{}",  # after every bad member: still taken
        "bad_1_4_broken.zip": b"PK\x03\x04 not really",
    }
    (archive / "download.zip").write_bytes(_zip(members, symlink="link_1_5_lab.ipynb"))
    (archive / "loose.ipynb").write_bytes(b"{}")
    record = tmp_path / "record.jsonl"
    defaults = intake.SafeExtractor()
    assert (defaults.max_member_bytes, defaults.max_total_bytes, defaults.max_members) == (
        64 * 2**20,
        2 * 2**30,
        20_000,
    )
    assert (defaults.max_student_files, defaults.max_student_bytes) == (200, 256 * 2**20)
    intake.SafeExtractor(record=str(record), max_member_bytes=1000).extract(str(archive), str(extracted))

    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    long_name = next(f for f in files if f.startswith("extracted/eve_1_6_Lab 2: "))
    assert long_name.endswith("解.ipynb") and len(long_name.split("/")[-1].encode()) <= 240  # cut in the middle
    assert [f for f in files if not f.startswith(("archive/", "record")) and f != long_name] == [
        "extracted/bad_1_4_broken.zip",  # not a zip after all: copied as the file it is (collect skips it)
        "extracted/kim_1_3_work/deeper.zip",  # a zip in a student's zip stays a file
        "extracted/kim_1_3_work/lab/lab.ipynb",  # a student's zip unpacked into a folder of its name
        "extracted/lee_1_7_work/good.ipynb",  # the member after a damaged one
        "extracted/loose.ipynb",
        "extracted/ok_1_2_lab.ipynb",
        "extracted/zoe_1_8_lab.ipynb",  # after every bad member
    ]
    decisions = {d["file"]: d["reason"] for d in map(json.loads, record.read_text().splitlines())}
    assert {name: reason.split(" (")[0] for name, reason in decisions.items()} == {
        "../../escape.ipynb": "a path outside the download",
        "/tmp/absolute.ipynb": "a path outside the download",
        "../../windows.ipynb": "a path outside the download",  # a Windows zip's separators read as such
        "C:/drive.ipynb": "a path outside the download",
        "big_1_2_lab.ipynb": "too large",
        "link_1_5_lab.ipynb": "a link, not a file",
        "kim_1_3_work/../up.ipynb": "a path outside the download",
        "kim_1_3_work": "cannot be unpacked",  # a file where the student's zip made its folder
        "lee_1_7_work/bad.ipynb": "cannot be unpacked",
    }


def test_a_students_zip_in_a_folder_download_stays_in_their_folder_and_a_download_is_bounded(tmp_path):
    archive, extracted = tmp_path / "archive", tmp_path / "extracted"
    (archive / "bob").mkdir(parents=True), extracted.mkdir()
    (archive / "bob" / "lab.ipynb").write_text("bob's")
    (archive / "zed").mkdir()
    (archive / "zed" / "work.zip").write_bytes(_zip({"bob/lab.ipynb": b"zed's", "x.ipynb": b"", "y.ipynb": b""}))
    (archive / "zed" / "x").write_bytes(_zip({"bob/lab.ipynb": b"not a .zip: left as the file it is"}))
    (archive / "zoe").mkdir()
    (archive / "zoe" / "lab.ipynb").write_text("zoe's")
    extractor = intake.SafeExtractor(record=str(tmp_path / "record"), max_student_files=2, max_members=4)
    extractor.extract(str(archive), str(extracted))
    assert (extracted / "bob" / "lab.ipynb").read_text() == "bob's"
    assert (extracted / "zed" / "work" / "bob" / "lab.ipynb").read_text() == "zed's"
    assert not (extracted / "zed" / "work" / "y.ipynb").exists() and (extracted / "zed" / "x").is_file()
    assert (extracted / "zoe" / "lab.ipynb").read_text() == "zoe's"  # after a student's zip used its own budget
    said = [json.loads(line) for line in (tmp_path / "record").read_text().splitlines()]
    assert said == [
        {"file": "zed/work", "status": "skipped", "reason": "1 more file(s) not taken: the limit of one zip"}
    ]


def test_one_students_zip_cannot_use_up_the_downloads_budget(tmp_path):
    archive, extracted = tmp_path / "archive", tmp_path / "extracted"
    archive.mkdir(), extracted.mkdir()
    members = {"aaron_401_2_work.zip": _zip({f"{n}.ipynb": b"" for n in range(50)}), "bella_402_3_lab.ipynb": b"{}"}
    (archive / "download.zip").write_bytes(_zip(members))
    extractor = intake.SafeExtractor(record=str(tmp_path / "record"), max_members=30, max_student_files=10)
    extractor.extract(str(archive), str(extracted))
    assert (extracted / "bella_402_3_lab.ipynb").is_file()
    assert len(list((extracted / "aaron_401_2_work").iterdir())) == 10  # a zip's own limit, well within the download's
    said = (tmp_path / "record").read_text()
    assert said.count("\n") == 1 and "40 more file(s) not taken: the limit of one zip" in said  # one line, not 40


def test_a_roster_maps_lms_identities_and_refuses_ids_that_are_not_folder_names(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes("\ufeffstudent_id,lms_id,name\ns1,1001,\ns2,,José  Núñez\n".encode())  # Excel's BOM
    read = intake.read_roster(roster)
    assert (read.find("1001", "anyone"), read.find("999", "josé núñez"), read.find("999", "Nobody")) == (
        "s1",
        "s2",
        None,
    )
    for bad in ("=cmd", "../x", "a b", "", "-flag"):
        roster.write_text(f"student_id,lms_id\n{bad},1\n")
        with pytest.raises(intake.CollectError, match="line 2"):
            intake.read_roster(roster)
    roster.write_text("id,email\n1,a@b\n")
    with pytest.raises(intake.CollectError, match="student_id and lms_id and/or name"):
        intake.read_roster(roster)


def test_ids_come_from_the_roster_else_the_name_and_never_collide(tmp_path):
    paths = [
        "Alex Kim_503_assignsubmission_file_/lab.ipynb",
        "Alex Kim_504_assignsubmission_file_/lab.ipynb",
        "Zoë Ünal_505_assignsubmission_file_/lab.ipynb",
        "=SUM(A1)_506_assignsubmission_file_/lab.ipynb",
        "Listed Person_507_assignsubmission_file_/lab.ipynb",
        "Listed Person_507_assignsubmission_file_/notes.txt",
    ]
    roster = intake.Roster(by_name={"listed person": "s507"})
    by_id, by_name, _ = intake.read_times(_worksheet(tmp_path, {"503": "Friday, 4 December 2026, 6:30 PM"}))
    ids, notes = intake.identities(paths, "moodle", roster, (by_id, by_name), "Europe/Berlin")
    assert {lms_id: found["student"] for lms_id, found in ids.items()} == {
        "503": "alex-kim-503",
        "504": "alex-kim-504",
        "505": "zoe-unal",
        "506": "sum-a1",
        "507": "s507",
    }
    assert ids["503"]["timestamp"] == "2026-12-04 17:30:00 UTC" and ids["504"]["timestamp"] == ""  # Berlin: UTC+1
    assert any("alex-kim" in n for n in notes) and any("not on the roster: collected as zoe-unal" in n for n in notes)


@pytest.mark.parametrize(
    "names, roster, expected",
    [
        (  # an id made by appending must not be another's
            {"503": "Alex Kim", "504": "Alex Kim", "600": "Alex Kim 503"},
            {},
            {"503": "alex-kim-503", "504": "alex-kim-504", "600": "alex-kim-503-600"},
        ),
        (  # names with no Latin letters stay apart
            {"1": "王芳", "2": "李娜", "3": "Μαρία"},
            {},
            {"1": "student-6b86b273", "2": "student-d4735e3a", "3": "student-4e074085"},
        ),
        (  # a look-alike of a roster student's id never becomes it, and the roster's ids are never changed
            {"502": "Bob Smith", "666": "Ｃａｒｏｌ Ｊｏｎｅｓ", "667": "Böb Smith"},
            {"502": "bob-smith", "501": "carol-jones"},
            {"502": "bob-smith", "666": "carol-jones-666", "667": "bob-smith-667"},
        ),
    ],
    ids=["appended-ids-collide", "non-latin-names", "look-alikes-of-roster-ids"],
)
def test_no_two_people_ever_share_a_student_id(names, roster, expected):
    paths = [f"{name}_{lms_id}_assignsubmission_file_/lab.ipynb" for lms_id, name in names.items()]
    ids, refused, notes = intake.student_ids(paths, "moodle", intake.Roster(by_id=roster) if roster else None)
    assert ids == expected
    assert len(set(ids.values())) == len(ids) and len(notes) >= 2


def test_a_blackboard_time_is_the_lms_prefixs_and_one_nbgrader_cannot_read_is_left_out():
    imitation = "autograd_eve_attempt_2026-12-20-10-00-00_bob_attempt_2026-11-30-09-00-00_autograd.ipynb"
    found = intake.match("blackboard", imitation)
    assert (found["lms_id"], found["timestamp"]) == ("eve", "2026-12-20-10-00-00")
    paths = [imitation, "autograd_zed_attempt_2026-99-99-99-99-99_autograd.ipynb"]
    ids, notes = intake.identities(paths, "blackboard", None, ({}, {}), "UTC")
    assert ids == {
        "eve": {"student": "eve", "timestamp": "2026-12-20 10:00:00 UTC", "refused": ""},
        "zed": {"student": "zed", "timestamp": "", "refused": ""},
    }
    assert any("cannot be read; collected without a time" in note for note in notes)


def test_times_with_an_offset_are_that_instant_and_ids_and_names_are_kept_apart(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text("lms_id,name,submitted_at\n502,Bob,2026-12-01T01:30:00+02:00\n9,502,2026-12-09 09:00\n")
    by_id, by_name, notes = intake.read_times(path)
    assert by_id == {"502": "2026-11-30 23:30:00 UTC", "9": "2026-12-09 09:00:00 -"}
    assert by_name == {"bob": "2026-11-30 23:30:00 UTC", "502": "2026-12-09 09:00:00 -"}
    ids, _ = intake.identities(["Bob_502_assignsubmission_file_/lab.ipynb"], "moodle", None, (by_id, by_name), "UTC")
    assert ids["502"]["timestamp"] == "2026-11-30 23:30:00 UTC"  # the row of Bob's id, not of someone named 502


def test_the_collector_takes_a_students_name_as_it_is_up_to_a_bound():
    collector = intake.LmsCollector()
    assert collector._file_id("ada", "Lab 2: autograd.IPYNB") == "Lab 2: autograd.ipynb"
    assert collector._file_id("ada", "work/\x1b[2Jlab.ipynb") == "[2Jlab.ipynb"
    names = [collector._file_id("bob", "lab.ipynb") for _ in range(intake.MAX_NOTEBOOKS + 1)]
    assert names[:3] == ["lab.ipynb", "lab (2).ipynb", "lab (3).ipynb"] and names[-1] is None


def test_the_lms_late_mark_stays_with_a_kept_submission(tmp_path):
    root = course.copy_course(tmp_path / "course")
    folder = intake.downloaded(root, lms.LAB)
    folder.mkdir(parents=True)
    late = {"file": "x", "status": intake.COLLECTED, "student": "eve", "late": True}
    intake._remember_late(folder / "marked_late.json", [late])
    intake._remember_late(folder / "marked_late.json", [{**late, "status": intake.KEPT}])  # collected again, kept
    assert intake.marked_late(root, lms.LAB) == {"eve"}
    intake._remember_late(folder / "marked_late.json", [{**late, "late": False}])  # replaced by on-time work
    assert intake.marked_late(root, lms.LAB) == set()


def _worksheet(folder, times):
    path = folder / "worksheet.csv"
    rows = ["Identifier,Full name,Last modified (submission)"]
    rows += [f'Participant {lms_id},Someone,"{when}"' for lms_id, when in times.items()]
    path.write_text("\n".join(rows) + "\nParticipant 9,Nobody,-\n")
    return path


def test_lateness_is_said_in_days_hours_and_minutes():
    assert report.late_text(0.0) == "" and report.late_text(0.0, marked_by_lms=True).startswith("marked late")
    assert report.late_text(90 * 60) == "1 h 30 min after the due date"
    assert report.late_text(86400 + 1) == "1 d 1 min after the due date"


class _NamelessCollector(FileNameCollectorPlugin):
    def collect(self, submitted_file):
        return {"file_id": os.path.basename(submitted_file)}  # no student_id: nbgrader refuses


def test_zip_collect_runs_in_this_process_and_a_refusal_is_nbgraders_reason_with_nothing_on_the_terminal(
    tmp_path, capfd
):
    root = course.copy_course(tmp_path / "course")
    archive = intake.downloaded(root, lms.LAB) / "archive"
    archive.mkdir(parents=True)
    (archive / f"someone_{lms.LAB}.ipynb").write_text("{}")
    handlers = logging.getLogger().handlers[:]
    with pytest.raises(course.CourseError, match="nbgrader zip_collect .*to provide the student_id"):
        intake.zip_collect(
            root,
            lms.LAB,
            {
                "ZipCollectApp": {"force": True, "collector_plugin": _NamelessCollector},
                "CourseDirectory": {"submitted_directory": str(tmp_path / "scratch")},
            },
        )
    assert capfd.readouterr() == ("", "") and logging.getLogger().handlers == handlers


def test_zip_collect_reads_the_courses_configuration_as_nbgraders_command_does_under_the_commands_settings(
    tmp_path, capfd, monkeypatch
):
    """A scheme the course configured gives way to the one asked for; a plugin kept in the course folder is found from
    anywhere; the course's logging settings (for its own nbgrader commands) change nothing in this process."""
    root = course.copy_course(tmp_path / "course")
    (root / "course_auth.py").write_text(
        "from nbgrader.auth import NoAuthPlugin\n\nclass CourseAuth(NoAuthPlugin):\n    pass\n"
    )
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(
            '\nc.LmsCollector.scheme = "canvas"\nc.Authenticator.plugin_class = "course_auth.CourseAuth"\n'
            'c.Application.log_level = "DEBUG"\nc.ZipCollectApp.log_format = "%(message)s"\n'
        )
    release = nbformat.read(course.layout(root).release / lms.LAB / f"{lms.LAB}.ipynb", as_version=4)
    (tmp_path / "moodle.zip").write_bytes(lms.moodle_zip(release))
    monkeypatch.chdir(tmp_path)
    path, handlers = sys.path[:], {name: logging.getLogger(name).handlers[:] for name in ("", "ZipCollectApp")}
    outcome = intake.collect(lms.LAB, tmp_path / "moodle.zip", root, scheme="moodle")
    assert outcome.scheme == "moodle" and sum(d["status"] == intake.COLLECTED for d in outcome.decisions) >= 10
    assert capfd.readouterr() == ("", "") and sys.path == path
    assert {name: logging.getLogger(name).handlers for name in handlers} == handlers


def test_a_setting_of_the_wrong_type_in_the_course_stops_collect_with_one_line(tmp_path):
    root = course.copy_course(tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write('\nc.ZipCollectApp.strict = "yes"\n')
    with pytest.raises(course.CourseError) as refused:
        intake.collect(lms.LAB, tmp_path, root)
    assert str(refused.value).startswith(f"nbgrader zip_collect {lms.LAB}: TraitError: The 'strict' trait")
    assert "\n" not in str(refused.value)


def _collect(root, *args):
    return subprocess.run(
        [sys.executable, "-m", "graders", "--course", str(root), "collect", lms.LAB, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=root,
    )


@pytest.mark.slow
def test_collect_again_keeps_what_is_there_unless_told_and_takes_only_notebooks(tmp_path):
    root = course.copy_course(tmp_path / "course")
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, text in ((first, "first"), (second, "second")):
        (folder / "ada").mkdir(parents=True)
        (folder / "ada" / "lab.ipynb").write_text(text)
    (second / "bob").mkdir()
    (second / "bob" / "lab.ipynb").write_text("bob")
    (second / "bob" / "timestamp.txt").write_text("2020-01-01 00:00:00")  # a time of the student's own: not taken
    (second / "bob" / "link.ipynb").symlink_to("/etc/passwd")
    submitted = course.layout(root).submitted

    assert _collect(root, first).returncode == 0
    kept = _collect(root, second)
    assert kept.returncode == 0, kept.stderr
    assert (submitted / "ada" / lms.LAB / "lab.ipynb").read_text() == "first"
    assert "ada/lab.ipynb: submitted/ada/autograd already has one (--replace)" in kept.stdout
    assert sorted(p.name for p in (submitted / "bob" / lms.LAB).iterdir()) == ["lab.ipynb"]
    assert (
        "bob/timestamp.txt: not a notebook" in kept.stdout
        and "bob/link.ipynb: a link or a special file, not a file" in kept.stdout
    )

    assert _collect(root, second, "--replace").returncode == 0
    assert (submitted / "ada" / lms.LAB / "lab.ipynb").read_text() == "second"

    refused = _collect(root, tmp_path / "nothing\x1b[2J.zip")  # an error quoting a name shows it escaped
    assert refused.returncode == 1 and "neither a zip file nor a folder" in refused.stderr
    assert "\x1b" not in refused.stderr and "nothing\\x1b[2J.zip" in refused.stderr


def _expected_total(hand_in, points):
    sample = next(s for s in sample_class(lms.LAB) if s.student == hand_in.sample)
    return sum(v for c, v in sample.expected_scores(points).items() if c.startswith("test_"))


def _term(root, download, class_, *collect_args):
    """The documented term from an LMS download: collect, grade with feedback, export; returns the collect report,
    the grade outcomes as the per-cell CSV has them, and the export's rows."""
    collected = _collect(root, download, *collect_args)
    assert collected.returncode == 0, collected.stderr
    graded = subprocess.run(
        [sys.executable, "-m", "graders", "--course", str(root), "grade", lms.LAB, "--feedback", "--workers", "2"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    assert graded.returncode == 0, graded.stderr
    course.nbgrader("export", root=root)
    with open(root / "build" / "grading" / lms.LAB / "grades.csv", newline="") as handle:
        cells = {row["student"]: row for row in csv.DictReader(handle)}
    with open(root / "grades.csv", newline="") as handle:
        exported = {row["student_id"]: row for row in csv.DictReader(handle) if row["assignment"] == lms.LAB}
    points = report.max_scores(root, lms.LAB)
    for hand_in in class_:
        row, lms_row = cells[hand_in.student], exported[hand_in.student]
        assert row["total"] == f"{_expected_total(hand_in, points):.1f}", hand_in
        assert row["status"] == ("needs review" if hand_in.review else "graded"), (hand_in, row["reasons"])
        assert hand_in.review in row["reasons"]
        assert (
            hand_in.late in row["late"] and hand_in.late in lms_row["late"] and bool(row["late"]) == bool(hand_in.late)
        )
        assert (root / "feedback" / hand_in.student / lms.LAB / f"{lms.LAB}.html").is_file()
        for name, reason in hand_in.skipped:
            assert any(name in line and reason in line for line in collected.stdout.splitlines()), (name, reason)
        if hand_in.sample == "unanswered":  # never a silent 0: the report says nothing was written
            assert f"{hand_in.student}: graded\n    note: no answer written" in graded.stdout
    assert set(cells) == {h.student for h in class_}
    return collected.stdout, exported


@pytest.mark.sandbox
def test_a_canvas_download_goes_from_zip_to_grades_feedback_and_export(fresh_course):
    root = fresh_course("canvas")
    release = nbformat.read(course.layout(root).release / lms.LAB / f"{lms.LAB}.ipynb", as_version=4)
    (root / "submissions.zip").write_bytes(lms.canvas_zip(release))
    (root / "roster.csv").write_text(lms.CANVAS_ROSTER)
    said, exported = _term(root, root / "submissions.zip", lms.canvas_class(release), "--roster", "roster.csv")
    assert "scheme: canvas" in said and "on the roster, nothing collected: s1011" in said
    assert "brownbob (LMS id 1010) is not on the roster: collected as brownbob" in said
    assert "../../escape.ipynb: a path outside the download" in said and not (root.parent / "escape.ipynb").exists()
    assert "\x1b" not in said and "leeamy_1009_9011_autograd\\x1b[31m<b>.ipynb" in said  # the escape shown, not sent
    assert exported["s1002"]["score"] == "14.0" and exported["s1002"]["late_submission_penalty"] == "0.0"
    assert exported["s1002"]["lms_user_id"] == "1002"  # what an upload to Canvas matches on, from the roster
    assert (exported["s1011"]["status"], exported["s1011"]["score"]) == ("no graded submission", "")  # handed in none
    again = _collect(root, root / "submissions.zip", "--roster", "roster.csv")  # every submission is kept
    assert again.returncode == 0 and "on the roster, nothing collected: s1011\n" in again.stdout
    with open(intake.downloaded(root, lms.LAB) / "collected.csv", newline="") as handle:
        runs = [row["collected_at"] for row in csv.DictReader(handle)]
    assert len(set(runs)) == 2 and runs.count(runs[0]) == runs.count(runs[-1])  # both collects on record


@pytest.mark.sandbox
def test_a_moodle_download_with_its_worksheet_flags_and_penalises_late_work(fresh_course):
    root = fresh_course("moodle")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(
            f'\nc.Deadlines.due = {{"{lms.LAB}": "{lms.DUE}"}}\nc.LateSubmissionPlugin.penalty_method = "zero"\n'
        )
    release = nbformat.read(course.layout(root).release / lms.LAB / f"{lms.LAB}.ipynb", as_version=4)
    (root / "moodle.zip").write_bytes(lms.moodle_zip(release))
    (root / "worksheet.csv").write_text(lms.moodle_worksheet(release))
    said, exported = _term(root, root / "moodle.zip", lms.moodle_class(release), "--times", "worksheet.csv")
    assert "scheme: moodle" in said and "onlinetext.html: not a notebook" in said
    late = exported["jose-nunez"]
    assert (late["raw_score"], late["late_submission_penalty"], late["score"]) == ("14.0", "14.0", "0.0")
    assert late["late"] == "1 h 30 min after the due date" and late["duedate"].startswith("2026-12-04 17:00:00")
    on_time = exported["jane-smith"]
    assert (on_time["score"], on_time["late"], on_time["timestamp"]) == ("14.0", "", "2026-12-03 09:15:00")
    assert exported["hyperlink-httpevil-example"]["score"] == "14.0"


@pytest.mark.slow
def test_a_scheme_roster_and_time_zone_set_in_nbgrader_config_are_used(tmp_path):
    """Blackboard's names carry the attempt's time, read in the configured zone and kept by nbgrader as the
    submission time; the roster comes from the configuration too."""
    root = course.copy_course(tmp_path / "course")
    (root / "roster.csv").write_text("student_id,lms_id\ns42,jsmith\n")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write('c.LmsCollector.roster = "roster.csv"\nc.LmsCollector.timezone = "Europe/Berlin"\n')
    download = tmp_path / "blackboard.zip"
    download.write_bytes(
        _zip(
            {
                f"Lab 2_jsmith_attempt_2026-12-04-18-30-00_{lms.LAB}.ipynb": b"{}",
                "Lab 2_jsmith_attempt_2026-12-04-18-30-00.txt": b"Date Submitted: ...",
                f"Lab 2_ojones_attempt_2026-12-01-09-00-00_{lms.LAB}.ipynb": b"{}",
            }
        )
    )
    said = _collect(root, download)
    assert said.returncode == 0, said.stderr
    assert "scheme: blackboard" in said.stdout and "ojones (LMS id ojones) is not on the roster" in said.stdout
    submitted = course.layout(root).submitted
    assert (submitted / "s42" / lms.LAB / "timestamp.txt").read_text() == "2026-12-04 17:30:00"  # Berlin is UTC+1
    assert (submitted / "ojones" / lms.LAB / "timestamp.txt").read_text() == "2026-12-01 08:00:00"


@pytest.mark.slow
def test_a_regex_of_the_courses_own_names_the_files_and_same_names_stay_apart(tmp_path):
    root = course.copy_course(tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write('c.LmsCollector.named_regexp = r"hw2-(?P<lms_id>[a-z]+)/(?P<file_id>.+)"\n')
    download = tmp_path / "download"
    for path in ("hw2-ada/a/lab.ipynb", "hw2-ada/b/lab.ipynb", "hw2-bob/lab.ipynb", "stray.ipynb"):
        (download / path).parent.mkdir(parents=True, exist_ok=True)
        (download / path).write_text(path)
    said = _collect(root, download)
    assert said.returncode == 0, said.stderr
    assert (
        "scheme: configured" in said.stdout and "stray.ipynb: the name is not in the configured scheme" in said.stdout
    )
    ada = course.layout(root).submitted / "ada" / lms.LAB
    assert {p.name: p.read_text() for p in ada.iterdir()} == {
        "lab.ipynb": "hw2-ada/a/lab.ipynb",
        "lab (2).ipynb": "hw2-ada/b/lab.ipynb",
    }


def test_a_due_date_comes_from_nbgrader_config_or_stays_as_the_formgrader_set_it(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    from graders.grading import nbgrader_steps

    monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]))  # alembic
    root = course.copy_course(tmp_path / "course")
    with Gradebook(course.layout(root).db_url) as gradebook:
        gradebook.add_assignment(lms.LAB, duedate="2026-11-01 12:00:00")
    assert nbgrader_steps.record_due_date(root, lms.LAB) is None
    with Gradebook(course.layout(root).db_url) as gradebook:
        assert str(gradebook.find_assignment(lms.LAB).duedate) == "2026-11-01 12:00:00"
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f'c.Deadlines.due = {{"{lms.LAB}": "2026-12-04 17:00:00 Europe/Berlin"}}\n')
    nbgrader_steps.record_due_date(root, lms.LAB)
    with Gradebook(course.layout(root).db_url) as gradebook:
        assert str(gradebook.find_assignment(lms.LAB).duedate) == "2026-12-04 16:00:00"
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f'c.Deadlines.due = {{"{lms.LAB}": "next Friday-ish"}}\n')
    with pytest.raises(course.CourseError, match="not a time nbgrader reads"):
        nbgrader_steps.record_due_date(root, lms.LAB)


@pytest.mark.parametrize(
    "path", ["submissions.zip", "roster.csv", "roster-2026.csv", f"downloaded/{lms.LAB}/collected.csv"]
)
def test_student_data_beside_the_course_is_never_committed(path):
    ignored = subprocess.run(["git", "check-ignore", "--no-index", path], cwd=course.ROOT, capture_output=True)
    assert ignored.returncode == 0, path


def test_a_name_two_roster_students_share_finds_neither_and_ids_differing_by_case_are_refused(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id,name\nwzhang1,,Wei Zhang\nwzhang2,,Wei Zhang\nBob,,Robert Jones\n")
    read = intake.read_roster(roster)
    paths = ["Wei Zhang_501_assignsubmission_file_/lab.ipynb", "Wei Zhang_502_assignsubmission_file_/lab.ipynb"]
    ids, _, notes = intake.student_ids([*paths, "bob_503_assignsubmission_file_/lab.ipynb"], "moodle", read)
    # never one of the two namesakes' ids, never another's in other case
    assert ids == {"501": "wei-zhang-501", "502": "wei-zhang-502", "503": "bob-503"}
    roster.write_text("student_id,lms_id\nBob,1\nbob,2\n")
    with pytest.raises(intake.CollectError, match="line 3"):
        intake.read_roster(roster)


def test_an_lms_id_that_comes_with_two_names_is_not_collected():
    paths = [
        "Lab 2_j_smith_attempt_2026-12-01-10-00-00_lab.ipynb",  # Blackboard user names with "_": two people...
        "Lab 2_k_smith_attempt_2026-12-09-10-00-00_lab.ipynb",  # ...that the names alone cannot tell apart
        "eve_102_150_9005_lab.ipynb",  # Canvas: a sortable name ending in _102 reads as user 102
        "doejohn_102_9002_lab.ipynb",
    ]
    for scheme, lms_id in (("blackboard", "smith"), ("canvas", "102")):
        ids, _ = intake.identities(paths, scheme, None, ({}, {}), "UTC")
        assert ids[lms_id]["student"] == "" and "2 different names" in ids[lms_id]["refused"]


def test_times_read_for_sure_or_left_out_with_a_note(tmp_path):
    path = tmp_path / "times.csv"
    path.write_text(
        "lms_id,name,submitted_at\n1,A,not a date\n2,B,2026-12-09 10:00 EST\n3,C,04/12/2026 10:00\n"
        "4,Wei Zhang,2026-12-09 10:00\n5,Wei Zhang,2026-12-01 10:00\n6,D,13/12/2026 10:00\n"
    )
    by_id, by_name, notes = intake.read_times(path)
    assert by_id == {"4": "2026-12-09 10:00:00 -", "5": "2026-12-01 10:00:00 -", "6": "2026-12-13 10:00:00 -"}
    assert "wei zhang" not in by_name and len(notes) == 4


def test_a_class_folder_is_read_inside_and_a_download_that_is_not_a_zip_is_refused(tmp_path):
    paths = ["class/ada/lab.ipynb", "class/bob/lab.ipynb", "__MACOSX/class/._x"]
    assert intake._unwrapped(paths) == (["ada/lab.ipynb", "bob/lab.ipynb", "__MACOSX/class/._x"], "class")
    assert intake._unwrapped(["ada/lab.ipynb"]) == (["ada/lab.ipynb"], "")  # one student's folder stays one
    broken = tmp_path / "broken.zip"
    broken.write_bytes(_zip({"a_1_2_lab.ipynb": b"{}"})[:-10])  # the central directory cut short
    with pytest.raises(intake.CollectError, match="cannot be read as a zip"):
        intake._listing(broken)


@pytest.mark.slow
def test_special_and_undecodable_names_and_upper_case_extensions_cost_nothing_else(tmp_path):
    root = course.copy_course(tmp_path / "course")
    download = tmp_path / "download"
    for student in ("ada", "bob", "cy"):
        (download / student).mkdir(parents=True)
    (download / "ada" / "LAB.IPYNB").write_text("ada's")
    os.mkfifo(download / "bob" / "pipe.ipynb")
    (download / "bob" / "lab.ipynb").write_text("bob's")
    (download / os.fsdecode(b"cy") / os.fsdecode(b"l\xffab.ipynb")).write_text("cy's")
    said = _collect(root, download)
    assert said.returncode == 0, said.stderr
    submitted = course.layout(root).submitted
    assert [p.name for p in (submitted / "ada" / lms.LAB).iterdir()] == ["LAB.ipynb"]  # as the report says
    assert (submitted / "bob" / lms.LAB / "lab.ipynb").read_text() == "bob's" and "bob/pipe.ipynb" in said.stdout
    assert "l\\udcffab.ipynb" in said.stdout and "cy's" in [
        p.read_text() for p in (submitted / "cy" / lms.LAB).iterdir()
    ]
    assert "\\udcff" in (intake.downloaded(root, lms.LAB) / "collected.csv").read_text()


def test_late_work_costs_no_points_unless_the_course_says_so():
    """The documented default: nbgrader's late-submission plugin with no penalty (the Moodle test sets "zero")."""
    from nbgrader.plugins import LateSubmissionPlugin

    configured = course.nbgrader_config(course.ROOT)
    plugin = LateSubmissionPlugin(config=configured)
    assert plugin.penalty_method == "none" and plugin.late_submission_penalty("ada", 14.0, 3600.0) is None
    assert dict(configured.Deadlines.due) == {}  # no lab is due until the course sets it


def test_a_students_zip_and_the_download_are_bounded_in_bytes_too(tmp_path):
    archive, extracted = tmp_path / "archive", tmp_path / "extracted"
    archive.mkdir(), extracted.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as inner:  # 2000 bytes unpacked from a small zip
        for n in range(5):
            inner.writestr(f"{n}.ipynb", b"0" * 400)
    zeros = buffer.getvalue()
    members = {"aaron_401_2_work.zip": zeros, "bella_402_3_lab.ipynb": b"1" * 300, "cy_403_4_lab.ipynb": b"2" * 300}
    (archive / "download.zip").write_bytes(_zip(members))
    room = len(zeros) + 800 + 300 + 100  # the student's zip, 800 bytes of it, bella's 300; not cy's 300 more
    extractor = intake.SafeExtractor(record=str(tmp_path / "record"), max_student_bytes=1000, max_total_bytes=room)
    extractor.extract(str(archive), str(extracted))
    assert len(list((extracted / "aaron_401_2_work").iterdir())) == 2  # 800 of its 1000 bytes
    assert (extracted / "bella_402_3_lab.ipynb").is_file() and not (extracted / "cy_403_4_lab.ipynb").exists()
    said = (tmp_path / "record").read_text()
    assert "3 more file(s) not taken: the limit of one zip" in said
    assert '"download.zip", "status": "skipped", "reason": "1 more file(s) not taken: the download\'s limit"' in said
