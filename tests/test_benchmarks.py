"""The benchmark the docs cite runs in CI at a small size, so it cannot rot (figures come from larger runs)."""

import subprocess
import sys

import pytest

from graders import course

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


def test_the_grading_benchmark_runs_and_both_graders_agree_on_every_cell():
    result = subprocess.run(
        [sys.executable, "benchmarks/grading.py", "1"], cwd=course.ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "submissions scored differently: 0" in result.stdout and "--scores-only" in result.stdout
    assert "feedback pages that differ: 0 of 1" in result.stdout and "HTMLExporter" in result.stdout
    for part in ("clean room", "cells", "checks", "checks, grader CPU"):
        assert part in result.stdout


def test_the_colab_round_trip_benchmark_runs_and_finds_no_fault():
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/colab_round_trip.py",
            "--samples",
            "1",
            "autograd",
            "--transforms",
            "worked_session",  # a Colab save
            "stripped_with_scratch_and_edits",  # what a student does, and a person must look at
        ],
        cwd=course.ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "faults (cells scored differently, statuses changed, feedback missing): 0" in result.stdout
    assert "worked_session" in result.stdout and "plain nbgrader" in result.stdout
    assert "stripped_with_scratch_and_edits" in result.stdout and "download_2024" not in result.stdout  # only those


@pytest.mark.postgres
def test_the_gradebook_benchmark_runs_and_the_three_exports_agree():
    result = subprocess.run(
        [sys.executable, "benchmarks/gradebooks.py", "1"], cwd=course.ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "export rows that differ: 0" in result.stdout and "PostgreSQL 15 / SQLite in the course:" in result.stdout
