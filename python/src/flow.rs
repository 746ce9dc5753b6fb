//! Builds an eddy dataflow from the steps a Python `Dataflow` recorded.
//!
//! The Python side (`pysrc/eddy/dataflow.py`) records each step as an
//! object with `kind`, `step_id`, `ups` (the indexes of the streams it
//! reads), `outs` (how many streams it makes) and `args` (its callables
//! and settings). Every worker builds the same graph from that list:
//! streams are numbered in the order the steps make them. Values are
//! [`PyVal`]s; keyed operators split `(key, value)` 2-tuples (the key a
//! `str`, as in Bytewax) and give 2-tuples back.

use std::time::Duration;

use eddy::window::{
    Clock, EventClock, EventTime, FoldOrder, SessionWindower, SlidingWindower, SystemClock, TumblingWindower,
    Windower,
};
use eddy::{Flow, JoinEmit, JoinInsert, Stream};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::io::{BatchSink, DynamicSink, DynamicSource, IterSource, PartitionedSource};
use crate::kafka::{self, KafkaArgs};
use crate::sink::PartitionedSink;
use crate::stateful::PyLogic;
use crate::value::{call, pair_of, PyVal};

/// One recorded step.
pub struct Step {
    kind: String,
    step_id: String,
    ups: Vec<usize>,
    args: Vec<Py<PyAny>>,
}

impl Step {
    /// Reads a step object of the Python side.
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Step> {
        Ok(Step {
            kind: obj.getattr("kind")?.extract()?,
            step_id: obj.getattr("step_id")?.extract()?,
            ups: obj.getattr("ups")?.extract()?,
            args: obj.getattr("args")?.extract()?,
        })
    }

    /// Its `i`th argument.
    fn arg(&self, i: usize) -> eddy::Result<Py<PyAny>> {
        self.args
            .get(i)
            .map(|a| Python::attach(|py| a.clone_ref(py)))
            .ok_or_else(|| eddy::EddyError::Build(format!("step {}: argument {i} missing", self.step_id)))
    }
}

/// Splits a `(key, value)` 2-tuple; anything else stops the step, naming
/// what it got.
fn split(v: PyVal) -> (String, PyVal) {
    call(|py| {
        let item = v.bind(py);
        let pair = pair_of(item, "a keyed step takes (key, value) 2-tuples")?;
        let key = pair.get_item(0)?;
        let key: String = key
            .cast::<PyString>()
            .map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "a key must be a str, got {}",
                    key.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string())
                ))
            })?
            .to_string();
        Ok((key, PyVal(pair.get_item(1)?.unbind())))
    })
}

/// `(key, value)` as a Python 2-tuple.
fn pair(key: String, value: PyVal) -> PyVal {
    call(|py| {
        let items = [PyString::new(py, &key).into_any(), value.0.into_bound(py)];
        Ok(PyVal(PyTuple::new(py, items)?.into_any().unbind()))
    })
}

/// `(key, (id, value))` as Python tuples: a window step's output item.
fn windowed(key: String, id: i64, value: Py<PyAny>) -> PyVal {
    call(|py| {
        let inner = PyTuple::new(py, [id.into_pyobject(py)?.into_any(), value.into_bound(py)])?;
        let items = [PyString::new(py, &key).into_any(), inner.into_any()];
        Ok(PyVal(PyTuple::new(py, items)?.into_any().unbind()))
    })
}

/// Python's `None`.
fn none() -> PyVal {
    Python::attach(|py| PyVal(py.None()))
}

/// The Python callables of a window step.
struct WindowFns {
    builder: Py<PyAny>,
    folder: Py<PyAny>,
    merger: Py<PyAny>,
    metadata: Py<PyAny>,
    order: FoldOrder,
    /// Emit Bytewax 0.19's `(key, (metadata, acc))` on `down`.
    legacy: bool,
}

/// A window step over `keyed` with windower `windower`: its `down`, `late`
/// and `meta` streams, as Python `(key, (window_id, x))` tuples.
fn window_step<'a, C: Clock<PyVal>, Wr: Windower>(
    keyed: &Stream<'a, (String, PyVal)>,
    id: &str,
    clock: C,
    windower: Wr,
    fns: WindowFns,
) -> [Stream<'a, PyVal>; 3] {
    let WindowFns {
        builder,
        folder,
        merger,
        metadata,
        order,
        legacy,
    } = fns;
    let out = keyed.fold_window_extent(
        id,
        clock,
        windower,
        move || call(|py| Ok(PyVal(builder.bind(py).call0()?.unbind()))),
        move |acc: &mut PyVal, v: PyVal| {
            let old = std::mem::replace(acc, none());
            *acc = call(|py| Ok(PyVal(folder.bind(py).call1((old.0, v.0))?.unbind())));
        },
        move |acc: &mut PyVal, other: PyVal| {
            let old = std::mem::replace(acc, none());
            *acc = call(|py| Ok(PyVal(merger.bind(py).call1((old.0, other.0))?.unbind())));
        },
        order,
    );
    let meta_of = call(|py| Ok(metadata.clone_ref(py)));
    let down = out.down.map(&format!("{id}:down"), move |(k, (w, (m, acc)))| {
        if legacy {
            // Bytewax 0.19's shape: `(key, (WindowMetadata, acc))`.
            let md = call(|py| {
                Ok(meta_of
                    .bind(py)
                    .call1((m.open_time, m.close_time, m.merged_ids))?
                    .unbind())
            });
            pair(
                k,
                call(|py| Ok(PyVal(PyTuple::new(py, [md, acc.0])?.into_any().unbind()))),
            )
        } else {
            windowed(k, w, acc.0)
        }
    });
    let late = out
        .late
        .map(&format!("{id}:late"), |(k, (w, v))| windowed(k, w, v.0));
    let meta = out.meta.map(&format!("{id}:meta"), move |(k, (w, m))| {
        let md = call(|py| {
            Ok(metadata
                .bind(py)
                .call1((m.open_time, m.close_time, m.merged_ids))?
                .unbind())
        });
        windowed(k, w, md)
    });
    [down, late, meta]
}

/// Argument `i` of `step` as a `T`.
fn arg_as<T: for<'py> FromPyObjectOwned<'py>>(step: &Step, i: usize) -> eddy::Result<T> {
    let a = step.arg(i)?;
    Python::attach(|py| {
        a.bind(py)
            .extract::<T>()
            .map_err(|e| Into::<PyErr>::into(e).to_string())
    })
    .map_err(|e| eddy::EddyError::Build(format!("step {}: argument {i}: {e}", step.step_id)))
}

/// Milliseconds as a `Duration` (negative: an error naming `what`).
fn duration(step: &Step, what: &str, ms: i64) -> eddy::Result<Duration> {
    u64::try_from(ms)
        .map(Duration::from_millis)
        .map_err(|_| eddy::EddyError::Build(format!("step {}: {what} must not be negative", step.step_id)))
}

/// Builds a window step: the clock, the windower and the fold, from the
/// step's arguments (see `eddy/operators/windowing.py`, `fold_window`).
fn build_window<'a>(
    step: &Step,
    keyed: &Stream<'a, (String, PyVal)>,
) -> eddy::Result<[Stream<'a, PyVal>; 3]> {
    // `time_of` is `None` for a `SystemClock`.
    let time_of = step.arg(0)?;
    if Python::attach(|py| time_of.is_none(py)) {
        build_windower(step, keyed, SystemClock)
    } else {
        let wait = duration(step, "the wait", arg_as::<i64>(step, 1)?)?;
        let clock = EventClock::new(
            move |v: &PyVal| call(|py| time_of.bind(py).call1((v.bind(py),))?.extract::<i64>()),
            wait,
        );
        build_windower(step, keyed, clock)
    }
}

/// [`build_window`] with its clock.
fn build_windower<'a, C: Clock<PyVal>>(
    step: &Step,
    keyed: &Stream<'a, (String, PyVal)>,
    clock: C,
) -> eddy::Result<[Stream<'a, PyVal>; 3]> {
    let id = step.step_id.as_str();
    let kind: String = arg_as(step, 2)?;
    let params: Vec<i64> = arg_as(step, 3)?;
    let fns = WindowFns {
        builder: step.arg(4)?,
        folder: step.arg(5)?,
        merger: step.arg(6)?,
        order: if arg_as::<bool>(step, 7)? {
            FoldOrder::ByTime
        } else {
            FoldOrder::ByArrival
        },
        metadata: step.arg(8)?,
        legacy: arg_as::<bool>(step, 9)?,
    };
    let bad = |what: &str| eddy::EddyError::Build(format!("step {id}: {what}"));
    match (kind.as_str(), params.as_slice()) {
        ("session", [gap]) => Ok(window_step(
            keyed,
            id,
            clock,
            SessionWindower::new(duration(step, "gap", *gap)?),
            fns,
        )),
        ("tumbling", [length, align]) => {
            let w = TumblingWindower::new(duration(step, "length", *length)?, EventTime::from_millis(*align))
                .map_err(|e| bad(&e.to_string()))?;
            Ok(window_step(keyed, id, clock, w, fns))
        }
        ("sliding", [length, offset, align]) => {
            let w = SlidingWindower::new(
                duration(step, "length", *length)?,
                duration(step, "offset", *offset)?,
                EventTime::from_millis(*align),
            )
            .map_err(|e| bad(&e.to_string()))?;
            Ok(window_step(keyed, id, clock, w, fns))
        }
        _ => Err(bad(&format!("unknown windower {kind} {params:?}"))),
    }
}

/// What a resume and every process of a cluster must share: the steps'
/// kinds and ids, in order, a `step N = kind:id` line each (so that a
/// refused resume names the step that changed).
pub fn fingerprint(steps: &[Step]) -> String {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("step {} = {}:{}", i + 1, s.kind, s.step_id))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A join's insert mode, by Bytewax's name.
fn insert_mode(step: &Step, name: &str) -> eddy::Result<JoinInsert> {
    match name {
        "first" => Ok(JoinInsert::First),
        "last" => Ok(JoinInsert::Last),
        "product" => Ok(JoinInsert::Product),
        other => Err(eddy::EddyError::Build(format!(
            "step {}: insert_mode must be \"first\", \"last\" or \"product\", got {other:?}",
            step.step_id
        ))),
    }
}

/// A join's emit mode, by Bytewax's name.
fn emit_mode(step: &Step, name: &str) -> eddy::Result<JoinEmit> {
    match name {
        "complete" => Ok(JoinEmit::Complete),
        "final" => Ok(JoinEmit::Final),
        "running" => Ok(JoinEmit::Running),
        other => Err(eddy::EddyError::Build(format!(
            "step {}: emit_mode must be \"complete\", \"final\" or \"running\", got {other:?}",
            step.step_id
        ))),
    }
}

/// A join row (one `Option` per side) as a Python tuple (`None` for a
/// missing side).
fn row_tuple(key: String, row: Vec<Option<PyVal>>) -> PyVal {
    call(|py| {
        let items = row.into_iter().map(|v| v.map_or_else(|| py.None(), |v| v.0));
        let row = PyTuple::new(py, items)?;
        let items = [PyString::new(py, &key).into_any(), row.into_any()];
        Ok(PyVal(PyTuple::new(py, items)?.into_any().unbind()))
    })
}

/// A list of values as `(key, [values])`.
fn list_pair(key: String, values: Vec<PyVal>) -> PyVal {
    call(|py| {
        let list = pyo3::types::PyList::new(py, values.into_iter().map(|v| v.0))?;
        let items = [PyString::new(py, &key).into_any(), list.into_any()];
        Ok(PyVal(PyTuple::new(py, items)?.into_any().unbind()))
    })
}

/// Builds `steps` into `flow` (on each worker).
pub fn build(flow: &mut Flow<'_>, steps: &[Step]) -> eddy::Result<()> {
    let mut streams: Vec<Stream<'_, PyVal>> = Vec::new();
    for step in steps {
        let up = |i: usize| -> eddy::Result<Stream<'_, PyVal>> {
            step.ups
                .get(i)
                .and_then(|&u| streams.get(u))
                .cloned()
                .ok_or_else(|| eddy::EddyError::Build(format!("step {}: unknown upstream", step.step_id)))
        };
        let id = step.step_id.as_str();
        match step.kind.as_str() {
            "input" => {
                let source = IterSource {
                    iterable: step.arg(0)?,
                    step: id.to_owned(),
                };
                streams.push(flow.input(id, source));
            }
            "input_partitioned" => {
                let source = PartitionedSource {
                    source: step.arg(0)?,
                    step: id.to_owned(),
                };
                streams.push(flow.input(id, source));
            }
            "input_dynamic" => {
                let source = DynamicSource {
                    source: step.arg(0)?,
                    step: id.to_owned(),
                    workers: flow.ctx().workers(),
                };
                streams.push(flow.input(id, source));
            }
            "output_dynamic" => {
                let sink = DynamicSink {
                    sink: step.arg(0)?,
                    step: id.to_owned(),
                };
                up(0)?.output(id, sink);
            }
            "input_kafka" => {
                let args = KafkaArgs {
                    brokers: arg_as(step, 0)?,
                    options: arg_as(step, 4)?,
                };
                let topics: Vec<String> = arg_as(step, 1)?;
                let stream = kafka::input(
                    flow,
                    id,
                    &args,
                    &topics,
                    arg_as(step, 2)?,
                    arg_as(step, 3)?,
                    step.arg(5)?,
                )?;
                streams.push(stream);
            }
            "output_kafka" => {
                let args = KafkaArgs {
                    brokers: arg_as(step, 0)?,
                    options: arg_as(step, 2)?,
                };
                kafka::output(&up(0)?, id, &args, &arg_as::<String>(step, 1)?)?;
            }
            "output_partitioned" => {
                let sink = PartitionedSink {
                    sink: step.arg(0)?,
                    step: id.to_owned(),
                };
                up(0)?.output(id, sink);
            }
            "stateful" => {
                let builder = step.arg(0)?;
                let keyed = up(0)?.map(&format!("{id}:split"), split);
                let out = keyed.stateful(id, move |resume: Option<PyVal>| {
                    PyLogic(call(|py| {
                        let state = resume.map_or_else(|| py.None(), |s| s.0);
                        Ok(builder.bind(py).call1((state,))?.unbind())
                    }))
                });
                streams.push(out.map(&format!("{id}:pair"), |(k, v)| pair(k, v)));
            }
            "join" => {
                let insert = insert_mode(step, &arg_as::<String>(step, 0)?)?;
                let emit = emit_mode(step, &arg_as::<String>(step, 1)?)?;
                let sides: Vec<Stream<'_, (String, PyVal)>> = (0..step.ups.len())
                    .map(|i| Ok(up(i)?.map(&format!("{id}:split{i}"), split)))
                    .collect::<eddy::Result<_>>()?;
                let (first, rest) = sides
                    .split_first()
                    .ok_or_else(|| eddy::EddyError::Build(format!("step {id}: a join needs a stream")))?;
                let out = first.join_all(id, rest, insert, emit);
                streams.push(out.map(&format!("{id}:rows"), |(k, row)| row_tuple(k, row)));
            }
            "collect" => {
                let max_size: usize = arg_as(step, 0)?;
                let timeout = duration(step, "the timeout", arg_as::<i64>(step, 1)?)?;
                let keyed = up(0)?.map(&format!("{id}:split"), split);
                let out = keyed.collect(id, max_size.max(1), timeout);
                streams.push(out.map(&format!("{id}:pair"), |(k, v)| list_pair(k, v)));
            }
            "output" => {
                let sink = BatchSink {
                    write: step.arg(0)?,
                    step: id.to_owned(),
                };
                up(0)?.output(id, sink);
            }
            "map" => {
                let f = step.arg(0)?;
                streams.push(up(0)?.map(id, move |v| {
                    call(|py| Ok(PyVal(f.bind(py).call1((v.0,))?.unbind())))
                }));
            }
            "filter" => {
                let f = step.arg(0)?;
                streams.push(up(0)?.filter(id, move |v| {
                    call(|py| f.bind(py).call1((v.bind(py),))?.is_truthy())
                }));
            }
            "flat_map" => {
                let f = step.arg(0)?;
                streams.push(up(0)?.flat_map(id, move |v| {
                    call(|py| {
                        f.bind(py)
                            .call1((v.0,))?
                            .try_iter()?
                            .map(|x| x.map(|x| PyVal(x.unbind())))
                            .collect::<PyResult<Vec<_>>>()
                    })
                }));
            }
            "inspect" => {
                let f = step.arg(0)?;
                streams
                    .push(up(0)?.inspect(id, move |v| call(|py| f.bind(py).call1((v.bind(py),)).map(drop))));
            }
            "redistribute" => streams.push(up(0)?.redistribute(id)),
            "merge" => {
                let first = up(0)?;
                let rest: Vec<Stream<'_, PyVal>> =
                    (1..step.ups.len()).map(up).collect::<eddy::Result<_>>()?;
                streams.push(first.merge(id, &rest));
            }
            "stateful_map" => {
                let f = step.arg(0)?;
                let keyed = up(0)?.map(&format!("{id}:split"), split);
                let out = keyed.stateful_map(id, move |state: &mut Option<PyVal>, v: PyVal| {
                    call(|py| {
                        let old = state.take().map_or_else(|| py.None(), |s| s.0);
                        let got = f.bind(py).call1((old, v.0))?;
                        let t = pair_of(&got, "stateful_map's mapper must return a (state, value) 2-tuple")?;
                        let new = t.get_item(0)?;
                        if !new.is_none() {
                            *state = Some(PyVal(new.unbind()));
                        }
                        Ok(PyVal(t.get_item(1)?.unbind()))
                    })
                });
                streams.push(out.map(&format!("{id}:pair"), |(k, v)| pair(k, v)));
            }
            "branch" => {
                let f = step.arg(0)?;
                let out = up(0)?.branch(id, move |v| {
                    call(|py| f.bind(py).call1((v.bind(py),))?.is_truthy())
                });
                streams.push(out.trues);
                streams.push(out.falses);
            }
            "fold_final" => {
                let (builder, folder) = (step.arg(0)?, step.arg(1)?);
                let keyed = up(0)?.map(&format!("{id}:split"), split);
                let out = keyed.fold_final(
                    id,
                    move || call(|py| Ok(PyVal(builder.bind(py).call0()?.unbind()))),
                    move |acc: PyVal, v: PyVal| {
                        call(|py| Ok(PyVal(folder.bind(py).call1((acc.0, v.0))?.unbind())))
                    },
                );
                streams.push(out.map(&format!("{id}:pair"), |(k, v)| pair(k, v)));
            }
            "fold_window" => {
                let keyed = up(0)?.map(&format!("{id}:split"), split);
                streams.extend(build_window(step, &keyed)?);
            }
            other => {
                return Err(eddy::EddyError::Build(format!(
                    "step {id}: unknown kind {other:?}"
                )));
            }
        }
    }
    Ok(())
}
