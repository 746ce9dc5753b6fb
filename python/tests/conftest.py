"""Shared fixtures and helpers: every operator test runs with 1 and 2
workers; flows run as a user runs them, with ``python -m``."""

import subprocess

import pytest


def python_m(python, module, *args, cwd=None):
    """``python -m module args…``: the finished process (text output)."""
    return subprocess.run(
        [python, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(params=[1, 2], ids=lambda w: f"w{w}")
def workers(request):
    return request.param
