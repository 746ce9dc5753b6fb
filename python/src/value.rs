//! [`PyVal`]: a Python object as an eddy value. It crosses threads as a
//! reference (the GIL guards it); it crosses processes and goes into
//! snapshots pickled.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How the error of a value that cannot be pickled starts. In an
/// exchange channel it becomes a panic that the run reports as the
/// worker's failure; the panic hook knows it by this text and keeps quiet.
const UNPICKLABLE: &str =
    "a value cannot be pickled, and values that go to another process or into a snapshot must be";

/// A Python object carried by the dataflow.
pub struct PyVal(pub Py<PyAny>);

impl PyVal {
    /// The object, bound to the GIL held.
    pub fn bind<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.0.bind(py)
    }
}

impl Clone for PyVal {
    fn clone(&self) -> Self {
        Python::attach(|py| PyVal(self.0.clone_ref(py)))
    }
}

impl Serialize for PyVal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes = Python::attach(|py| -> Result<Vec<u8>, String> {
            let value = self.bind(py);
            let pickled = py
                .import("pickle")
                .and_then(|p| p.call_method1("dumps", (value,)))
                .and_then(|b| Ok(b.cast::<PyBytes>()?.as_bytes().to_vec()));
            pickled.map_err(|e| {
                let shown = value.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string());
                let shown: String = shown.chars().take(200).collect();
                format!("{UNPICKLABLE}: {e} (the value: {shown})")
            })
        })
        .map_err(S::Error::custom)?;
        bytes.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PyVal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = Vec::<u8>::deserialize(d)?;
        Python::attach(|py| -> PyResult<PyVal> {
            let value = py
                .import("pickle")?
                .call_method1("loads", (PyBytes::new(py, &bytes),))?;
            Ok(PyVal(value.unbind()))
        })
        .map_err(|e| D::Error::custom(format!("cannot unpickle a value: {e}")))
    }
}

/// `item` as a 2-tuple; anything else is a `TypeError` saying what was
/// `expected` and showing what came.
pub fn pair_of<'a, 'py>(item: &'a Bound<'py, PyAny>, expected: &str) -> PyResult<&'a Bound<'py, PyTuple>> {
    item.cast::<PyTuple>()
        .ok()
        .filter(|t| t.len() == 2)
        .ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "{expected}, got {}",
                item.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string())
            ))
        })
}

/// The text of a Python exception with its traceback, as Python prints it.
pub fn describe(py: Python<'_>, err: &PyErr) -> String {
    let formatted = py.import("traceback").and_then(|tb| {
        tb.call_method1(
            "format_exception",
            (err.get_type(py), err.value(py), err.traceback(py)),
        )?
        .extract::<Vec<String>>()
    });
    match formatted {
        Ok(lines) => lines.concat().trim_end().to_owned(),
        Err(_) => err.to_string(),
    }
}

thread_local! {
    /// Set while a step stops for a Python exception: the panic is the
    /// run's error, reported once by the run; not printed by the hook.
    static RAISING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once) a panic hook that keeps quiet about the panics the run
/// reports itself: those that carry a Python exception out of a step
/// ([`call`]) and those of a value that cannot be pickled in an exchange
/// channel; others are printed as before.
pub fn quiet_python_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("");
            let raising = RAISING.with(|r| r.replace(false));
            if !raising && !payload.contains(UNPICKLABLE) {
                previous(info);
            }
        }));
    });
}

/// Calls `f` with the GIL held; a Python exception stops the step that
/// called it (a panic the engine reports with the step and the worker),
/// with the exception's traceback as the message.
pub fn call<T>(f: impl FnOnce(Python<'_>) -> PyResult<T>) -> T {
    let failed = Python::attach(|py| f(py).map_err(|e| describe(py, &e)));
    match failed {
        Ok(v) => v,
        Err(traceback) => {
            RAISING.with(|r| r.set(true));
            panic!("Python exception:\n{traceback}")
        }
    }
}
