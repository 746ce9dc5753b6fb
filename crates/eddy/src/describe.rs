//! A picture of a flow: its steps and the streams between them, as
//! Mermaid text (like `python -m bytewax.visualize`).
//!
//! The graph is recorded while the flow is built: every step registers its
//! id (in build order), every stream knows the step that produced it, and
//! a step that consumes a stream records the edge. Render it with
//! [`Flow::describe`] inside a build, or with [`describe`], which builds a
//! flow on one worker without running it.

use std::sync::{Arc, Mutex};

use crate::dataflow::run;
use crate::dataflow::Flow;
use crate::engine::run::RunConfig;
use crate::error::{EddyError, Result};

impl Flow<'_> {
    /// The flow built so far on this worker, as Mermaid text (every worker
    /// builds the same flow).
    ///
    /// ```
    /// use eddy::testing::{TestingSink, TestingSource};
    /// let sink = TestingSink::new();
    /// let out = sink.clone();
    /// eddy::run("f", &eddy::RunConfig::workers(1), move |flow| {
    ///     flow.input("inp", TestingSource::new(vec![1]))
    ///         .map("inc", |x: i64| x + 1)
    ///         .output("out", out.clone());
    ///     assert!(flow.describe().contains("s_1 --> s_2"));
    ///     Ok(())
    /// })?;
    /// # Ok::<(), eddy::EddyError>(())
    /// ```
    pub fn describe(&self) -> String {
        self.ctx().describe()
    }
}

/// Builds the flow `build` makes on one worker, without running it (no
/// input is read, though inputs are opened; outputs open no sink: no file
/// is made), and returns its picture as Mermaid
/// text (Bytewax's `python -m bytewax.visualize`): a `flowchart`, one node
/// per step, one arrow per stream. A build error is returned as such.
///
/// ```
/// use eddy::testing::{TestingSink, TestingSource};
/// let picture = eddy::describe("clicks", |flow| {
///     let b = flow
///         .input("inp", TestingSource::new(vec![1i64, 2, 3]))
///         .branch("even", |x: &i64| x % 2 == 0);
///     b.trues.merge("all", &[b.falses.map("neg", |x: i64| -x)])
///         .output("out", TestingSink::new());
///     Ok(())
/// })?;
/// assert!(picture.starts_with("flowchart TD\n"));
/// assert!(picture.contains("[\"inp (input)\"]") && picture.contains("[\"out (output)\"]"));
/// // Steps in build order: inp 0, even 1, neg 2, all 3, out 4.
/// for arrow in ["s_0 --> s_1", "s_1 --> s_2", "s_2 --> s_3", "s_1 --> s_3", "s_3 --> s_4"] {
///     assert!(picture.contains(arrow), "{arrow} in {picture}");
/// }
/// # Ok::<(), eddy::EddyError>(())
/// ```
pub fn describe<F>(flow_id: &str, build: F) -> Result<String>
where
    F: Fn(&mut Flow<'_>) -> Result<()> + Send + Sync + 'static,
{
    let picture: Arc<Mutex<Option<String>>> = Arc::default();
    let slot = picture.clone();
    let outcome = run(flow_id, &RunConfig::workers(1), move |flow| {
        flow.ctx().describe_only();
        let built = build(flow);
        // A complete dataflow (timely wants every reserved operator filled),
        // then an error: no worker steps it.
        flow.finish();
        built?;
        flow.ctx().build_result()?;
        if let Ok(mut p) = slot.lock() {
            *p = Some(flow.describe());
        }
        // Stop before anything runs.
        Err(EddyError::Build("described, not run".into()))
    });
    let described = picture.lock().ok().and_then(|mut p| p.take());
    match (described, outcome) {
        (Some(text), _) => Ok(text),
        (None, Err(e)) => Err(e),
        (None, Ok(())) => Err(EddyError::Build("the flow was not described".into())),
    }
}
