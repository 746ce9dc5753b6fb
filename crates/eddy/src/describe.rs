//! A picture of a flow: its steps and the streams between them, as
//! Mermaid text (like `python -m bytewax.visualize`).
//!
//! The graph is recorded while the flow is built: every step registers its
//! id (in build order), every stream knows the step that produced it, and
//! a step that consumes a stream records the edge. Render it with
//! [`Flow::describe`] inside a build, or with [`describe`], which builds a
//! flow on one worker without running it.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use crate::dataflow::Flow;
use crate::engine::run::{run, RunConfig};
use crate::error::{EddyError, Result};

/// The steps and streams of one flow, in build order.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    /// Full step ids, in the order they were added.
    steps: Vec<String>,
    /// `(from, to)` step indices, each once, in the order they were made.
    edges: Vec<(usize, usize)>,
    /// The steps that made a stream (the others are outputs).
    producers: Vec<usize>,
}

impl Graph {
    /// Registers a step (the one the next streams come from).
    pub(crate) fn step(&mut self, id: &str) {
        self.steps.push(id.to_owned());
    }

    /// The step added last: the one building now.
    pub(crate) fn current(&self) -> Option<&str> {
        self.steps.last().map(String::as_str)
    }

    /// Records that the step building now consumes a stream of `from`,
    /// and whether it makes a stream of its own of it.
    pub(crate) fn consume(&mut self, from: &str, produces: bool) {
        let Some(to) = self.steps.len().checked_sub(1) else {
            return;
        };
        if produces && !self.producers.contains(&to) {
            self.producers.push(to);
        }
        let Some(from) = self.steps.iter().rposition(|s| s == from) else {
            return;
        };
        if from != to && !self.edges.contains(&(from, to)) {
            self.edges.push((from, to));
        }
    }

    /// Mermaid `flowchart` text: one node per step, labelled with its name
    /// (inputs — steps that consume no stream — and outputs — steps that
    /// make none — are marked so), one arrow per stream.
    pub(crate) fn mermaid(&self, flow_id: &str) -> String {
        let mut out = String::from("flowchart TD\n");
        let _ = writeln!(
            out,
            "subgraph {} [\"{} (Dataflow)\"]",
            node_id("flow", flow_id),
            quote(flow_id)
        );
        let prefix = format!("{flow_id}.");
        for (i, id) in self.steps.iter().enumerate() {
            let name = id.strip_prefix(&prefix).unwrap_or(id);
            let label = if !self.edges.iter().any(|e| e.1 == i) {
                format!("{name} (input)")
            } else if !self.producers.contains(&i) {
                format!("{name} (output)")
            } else {
                name.to_owned()
            };
            let _ = writeln!(out, "    {}[\"{}\"]", node_id("s", &i.to_string()), quote(&label));
        }
        for (from, to) in &self.edges {
            let _ = writeln!(
                out,
                "    {} --> {}",
                node_id("s", &from.to_string()),
                node_id("s", &to.to_string())
            );
        }
        out.push_str("end\n");
        out
    }
}

/// A Mermaid node id: letters, digits and `_` only.
fn node_id(prefix: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_{clean}")
}

/// Text for a quoted Mermaid label (`"` is `#quot;` there).
fn quote(text: &str) -> String {
    text.replace('"', "#quot;")
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_kept_once_and_self_loops_dropped() {
        let mut g = Graph::default();
        g.step("f.a");
        g.step("f.b");
        g.consume("f.a", false);
        g.consume("f.a", false);
        g.consume("f.b", false);
        g.consume("f.unknown", false);
        assert_eq!(g.edges, vec![(0, 1)]);
        let text = g.mermaid("f");
        assert_eq!(
            text,
            "flowchart TD\nsubgraph flow_f [\"f (Dataflow)\"]\n    s_0[\"a (input)\"]\n    s_1[\"b (output)\"]\n    s_0 --> s_1\nend\n"
        );
    }
}
