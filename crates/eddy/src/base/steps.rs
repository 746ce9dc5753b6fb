//! The step graph of a flow, recorded while it is built (what
//! `Flow::describe` draws): steps in build order, and the streams between
//! them.

use std::fmt::Write as _;

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
