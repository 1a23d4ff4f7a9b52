"""Grading support for the "Backpropagation from scratch" course kit.

Reference values, reference implementations and hidden checks live here once; the
notebooks' visible checks are tested against them (tests/test_notebooks.py).
"""
