//! Helpers shared by the integration tests (each test binary uses some).
#![allow(dead_code)]

pub mod live;

use std::io;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use std::path::Path;

use eddy::connectors::{Sink, SinkPartition};
use eddy::recovery::inspect;
use eddy::testing::TestingSink;
use eddy::ConnectorError;

/// A sink that fails with "disk full" once `budget` items are written in
/// this run: the crash of a test.
pub struct Crashing {
    /// Where the items written before the crash go.
    pub inner: TestingSink<String>,
    /// Items left to write before the crash (shared across resumes).
    pub budget: Arc<AtomicI64>,
}

/// [`Crashing`]'s writer.
pub struct CrashingWriter {
    inner: Box<dyn SinkPartition<String>>,
    budget: Arc<AtomicI64>,
}

impl Sink<String> for Crashing {
    fn build(
        &self,
        w: usize,
        n: usize,
    ) -> eddy::Result<Box<dyn SinkPartition<String>>, eddy::ConnectorError> {
        Ok(Box::new(CrashingWriter {
            inner: self.inner.build(w, n)?,
            budget: self.budget.clone(),
        }))
    }

    fn resume(
        &self,
        w: usize,
        n: usize,
        state: &[u8],
    ) -> eddy::Result<Box<dyn SinkPartition<String>>, eddy::ConnectorError> {
        Ok(Box::new(CrashingWriter {
            inner: self.inner.resume(w, n, state)?,
            budget: self.budget.clone(),
        }))
    }
}

impl SinkPartition<String> for CrashingWriter {
    fn write_batch(&mut self, items: &mut Vec<String>) -> eddy::Result<(), eddy::ConnectorError> {
        let left = self.budget.fetch_sub(items.len() as i64, Ordering::SeqCst);
        if left < items.len() as i64 {
            // Write part of the batch, then fail: a torn write.
            items.truncate(left.max(0) as usize);
            self.inner.write_batch(items)?;
            return Err(ConnectorError::io(
                "test-output",
                io::Error::new(io::ErrorKind::StorageFull, "simulated disk full"),
            ));
        }
        self.inner.write_batch(items)
    }

    fn close(&mut self) -> eddy::Result<(), eddy::ConnectorError> {
        self.inner.close()
    }

    fn snapshot(&mut self) -> eddy::Result<Vec<u8>, eddy::ConnectorError> {
        self.inner.snapshot()
    }
}

/// Whether the store at `dir` holds a complete snapshot (a run would resume).
pub fn has_complete_snapshot(dir: &Path) -> bool {
    inspect(dir).expect("inspect").epochs.iter().any(|e| e.complete())
}
