"""Real Bytewax (0.21.1, from PyPI) as the oracle: flows written in
Bytewax's API (`bytewax` imports: tests/flows/, and the tutorial example
with its `eddy` imports turned into Bytewax's) run under Bytewax itself
and under Eddy's compatibility package (`bytewax-on-eddy`), and their
outputs must agree line for line (as sorted sets of lines: Bytewax's own
order between keys is not defined).

`python/test.sh` makes Bytewax's virtualenv and names its interpreter in
EDDY_BYTEWAX_PYTHON. Without it the test is skipped, saying why; under
CI=true it fails."""

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import python_m

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "search_session.py"
ORACLE = os.environ.get("EDDY_BYTEWAX_PYTHON")

if not ORACLE:
    if os.environ.get("CI") == "true":
        raise RuntimeError("EDDY_BYTEWAX_PYTHON is not set: run the Python tests with python/test.sh")
    pytest.skip(
        "EDDY_BYTEWAX_PYTHON is not set (python/test.sh installs Bytewax 0.21.1 and sets it)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def flows(tmp_path_factory):
    """A folder with tests/flows/*.py and `tutorial.py`: the example with
    Bytewax's imports."""
    where = tmp_path_factory.mktemp("flows")
    for f in (HERE / "flows").glob("*.py"):
        shutil.copy(f, where)
    text = EXAMPLE.read_text().replace("from eddy.dataflow import", "from bytewax.dataflow import")
    for module in ("operators.windowing", "operators", "connectors.stdio", "testing"):
        text = text.replace(f"eddy.{module}", f"bytewax.{module}")
    assert "import eddy" not in text and "from eddy" not in text, "an eddy import is left"
    (where / "tutorial.py").write_text(text)
    return where


def run_flow(python, where, flow, workers):
    done = python_m(python, "bytewax.run", f"{flow}:flow", "-w", str(workers), cwd=where)
    assert done.returncode == 0, f"{python}: {done.stderr}"
    return done.stdout


# Bytewax runs each flow on one worker (with two, its threads print at
# once and mix their lines). Eddy runs each on one and on two, except the
# tutorial on two: its `calc_ctr` calls `print` itself, on whichever worker
# has the user, and `print` writes a line and its end apart, so two
# workers' lines could mix. Eddy's own printing (StdOutSink, inspect) and
# the custom sink write a whole line or batch at once.
CASES = [("tutorial", 1)] + [
    (flow, w) for flow in ("operators", "windows", "custom_io", "stateful_join", "files") for w in (1, 2)
]


def written(where):
    """The files a `files` flow wrote: name → sorted lines."""
    out = {"out.txt": sorted((where / "out.txt").read_text().splitlines())}
    for f in sorted((where / "out_dir").iterdir()):
        out[f"out_dir/{f.name}"] = sorted(f.read_text().splitlines())
    return out


def test_file_outputs_are_bytewax_files(flows):
    run_flow(ORACLE, flows, "files", 1)
    theirs = written(flows)
    assert len(theirs["out.txt"]) == 41 and len(theirs) == 4
    for workers in (1, 2):
        run_flow(sys.executable, flows, "files", workers)
        assert written(flows) == theirs


@pytest.mark.parametrize("flow,workers", CASES, ids=[f"{f}-eddy-w{w}" for f, w in CASES])
def test_eddy_gives_bytewax_output(flows, flow, workers):
    theirs = run_flow(ORACLE, flows, flow, 1)
    ours = run_flow(sys.executable, flows, flow, workers)
    assert theirs.strip(), "Bytewax printed nothing"
    assert sorted(ours.splitlines()) == sorted(theirs.splitlines())


def test_the_tutorial_is_line_for_line_bytewax(flows):
    assert run_flow(sys.executable, flows, "tutorial", 1) == run_flow(ORACLE, flows, "tutorial", 1)
