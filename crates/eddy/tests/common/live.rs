//! A live source for tests: partitions that yield their items, then nothing
//! (`Pending`) until `close` is set — an input that has not ended.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eddy::connectors::{Poll, Source, SourcePartition};

/// `(key, event time in ms)`.
pub type Event = (String, i64);

/// Partition `i` yields `parts[i]`, then nothing (`Pending`) until `close`
/// is set. An empty partition never produces anything.
#[derive(Clone)]
pub struct LiveSource {
    /// Each partition's items.
    pub parts: Vec<Vec<Event>>,
    /// Ends every partition once set.
    pub close: Arc<AtomicBool>,
}

struct LivePartition {
    items: std::vec::IntoIter<Event>,
    close: Arc<AtomicBool>,
}

impl Source<Event> for LiveSource {
    fn list_parts(&self) -> eddy::connectors::Result<Vec<String>> {
        Ok((0..self.parts.len()).map(|i| format!("p{i}")).collect())
    }

    fn build_part(
        &self,
        key: &str,
        _resume: Option<&[u8]>,
    ) -> eddy::connectors::Result<Box<dyn SourcePartition<Event>>> {
        // An unknown key reads as an empty partition.
        let i: usize = key.trim_start_matches('p').parse().unwrap_or(usize::MAX);
        Ok(Box::new(LivePartition {
            items: self.parts.get(i).cloned().unwrap_or_default().into_iter(),
            close: self.close.clone(),
        }))
    }
}

impl SourcePartition<Event> for LivePartition {
    fn next_batch(&mut self, out: &mut Vec<Event>, max: usize) -> eddy::connectors::Result<Poll> {
        let before = out.len();
        out.extend(self.items.by_ref().take(max));
        if out.len() > before {
            Ok(Poll::Ready)
        } else if self.close.load(Ordering::SeqCst) {
            Ok(Poll::Done)
        } else {
            Ok(Poll::Pending(Duration::from_millis(2)))
        }
    }

    fn position(&self) -> Vec<u8> {
        Vec::new()
    }
}
