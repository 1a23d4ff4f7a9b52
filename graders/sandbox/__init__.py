"""What runs inside the grading sandbox, and nothing more: no reference implementation, no expected value.

Student code only *produces values* here: the grader (outside, in graders/grading/ and graders/labs/<lab>/checks.py)
chooses the inputs, this package calls the student's functions on them and sends back plain data, and the
grader judges. Only the files listed in graders/grading/executor.py's SANDBOX_FILES are mounted.
"""
