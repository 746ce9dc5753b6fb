//! A Python `StatefulLogic` (Bytewax's interface: `on_item`, `on_notify`,
//! `on_eof` each return `(emits, discard)`, `notify_at()` a `datetime` or
//! `None`, `snapshot()` the state its builder takes back) as an eddy
//! [`StatefulLogic`].

use std::time::{Duration, Instant};

use eddy::{IsComplete, StatefulLogic, Wake};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyTuple};

use crate::value::{call, pair_of, PyVal};

/// One key's Python logic object.
pub struct PyLogic(pub Py<PyAny>);

/// Reads a `(emits, discard)` answer of method `what`.
fn answer(got: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<PyVal>, IsComplete)> {
    let pair = pair_of(
        got,
        &format!("StatefulLogic.{what} must return an (emits, discard) 2-tuple"),
    )?;
    let emits = pair
        .get_item(0)?
        .try_iter()?
        .map(|x| x.map(|x| PyVal(x.unbind())))
        .collect::<PyResult<Vec<_>>>()?;
    let done = if pair.get_item(1)?.is_truthy()? {
        IsComplete::Discard
    } else {
        IsComplete::Retain
    };
    Ok((emits, done))
}

impl PyLogic {
    /// Calls `method` with `args` and reads its answer.
    fn ask(
        &self,
        method: &str,
        args: impl for<'py> FnOnce(Python<'py>) -> Vec<Py<PyAny>>,
    ) -> (Vec<PyVal>, IsComplete) {
        call(|py| {
            let args = PyTuple::new(py, args(py))?;
            answer(&self.0.bind(py).call_method1(method, args)?, method)
        })
    }
}

impl StatefulLogic<PyVal> for PyLogic {
    type Out = PyVal;
    type State = PyVal;

    fn on_item(&mut self, value: PyVal) -> (impl IntoIterator<Item = PyVal>, IsComplete) {
        self.ask("on_item", move |_| vec![value.0])
    }

    fn on_notify(&mut self) -> (impl IntoIterator<Item = PyVal>, IsComplete) {
        self.ask("on_notify", |_| Vec::new())
    }

    fn on_eof(&mut self) -> (impl IntoIterator<Item = PyVal>, IsComplete) {
        self.ask("on_eof", |_| Vec::new())
    }

    /// A `datetime` (aware or naive UTC) is a wall-clock wake-up, as in
    /// Bytewax: it is due once the system clock reaches it.
    fn notify_at(&self) -> Option<Wake> {
        call(|py| {
            let at = self.0.bind(py).call_method0("notify_at")?;
            if at.is_none() {
                return Ok(None);
            }
            let at = if at.getattr("tzinfo")?.is_none() {
                let utc = py.import("datetime")?.getattr("timezone")?.getattr("utc")?;
                at.call_method("replace", (), Some(&[("tzinfo", utc)].into_py_dict(py)?))?
            } else {
                at
            };
            let timestamp = at.call_method0("timestamp")?.extract::<f64>()?;
            let now = py.import("time")?.call_method0("time")?.extract::<f64>()?;
            let wait = Duration::from_secs_f64((timestamp - now).clamp(0.0, 365.0 * 86_400.0));
            Ok(Some(Wake::WallClock(Instant::now() + wait)))
        })
    }

    fn snapshot(&self) -> PyVal {
        call(|py| Ok(PyVal(self.0.bind(py).call_method0("snapshot")?.unbind())))
    }
}
