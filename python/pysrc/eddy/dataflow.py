"""A dataflow as Python records it: named steps and the streams between them.

Nothing runs here: each operator appends a step to its :class:`Dataflow`,
and the engine (``eddy._eddy.run``) builds the same graph on every worker
from that list.
"""

from dataclasses import dataclass, field
from typing import Any, Generic, List, TypeVar

X = TypeVar("X")


@dataclass
class _Step:
    """One recorded step: what it does, its id, the streams it reads (by
    index) and its arguments (callables, iterables)."""

    kind: str
    step_id: str
    ups: List[int]
    args: List[Any]


@dataclass
class Dataflow:
    """A dataflow: a named graph of steps.

    ``flow_id`` names the run (and prefixes every step id in errors and
    metrics); step ids must be unique within it.
    """

    flow_id: str
    steps: List[_Step] = field(default_factory=list, repr=False)
    _streams: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.flow_id, str) or not self.flow_id or "." in self.flow_id:
            raise ValueError(f"a flow id is a non-empty str without '.', got {self.flow_id!r}")

    def _add(self, kind: str, step_id: str, ups: List["Stream[Any]"], args: List[Any], outs: int):
        if not isinstance(step_id, str) or not step_id or "." in step_id:
            raise ValueError(f"a step id is a non-empty str without '.', got {step_id!r}")
        if any(s.step_id == step_id for s in self.steps):
            raise ValueError(f"step id {step_id!r} is used twice in dataflow {self.flow_id!r}")
        for up in ups:
            if up.flow is not self:
                raise ValueError(f"step {step_id!r} reads a stream of another dataflow")
        self.steps.append(_Step(kind, step_id, [u.index for u in ups], args))
        made = [Stream(self, self._streams + i, step_id) for i in range(outs)]
        self._streams += outs
        return made


class Stream(Generic[X]):
    """A stream of values made by one step of a :class:`Dataflow`.

    A stream of ``(key, value)`` 2-tuples whose keys are ``str`` is a keyed
    stream: keyed operators (``stateful_map`` …) take it.
    """

    def __init__(self, flow: Dataflow, index: int, step_id: str) -> None:
        self.flow = flow
        self.index = index
        self.step_id = step_id

    def then(self, op, step_id: str, *args: Any, **kwargs: Any):
        """``op(step_id, self, *args, **kwargs)``: operators in a chain."""
        return op(step_id, self, *args, **kwargs)

    def __repr__(self) -> str:
        return f"Stream({self.flow.flow_id}.{self.step_id})"
