"""Shared fixtures: every operator test runs with 1 and 2 workers."""

import pytest


@pytest.fixture(params=[1, 2], ids=lambda w: f"w{w}")
def workers(request):
    return request.param
