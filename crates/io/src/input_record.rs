//! What a resume compares about each input, as the input's own connector
//! describes it: the recovery store keeps the records without knowing
//! what they mean (files give their size, time and hashes; a Kafka topic
//! its partition count).

use std::fmt;

/// One input's identity when a resumable run starts: compared with the
/// input as it is at every resume.
#[derive(Clone)]
pub struct InputRecord {
    /// Names the input in messages (`logs/a.jsonl`, `kafka://h:9092/t`);
    /// unique per run.
    pub name: String,
    /// What `recovery inspect` shows of it (`1024 bytes`).
    pub summary: String,
    /// The connector's own encoding, kept by the store as it is.
    pub data: Vec<u8>,
    /// The changes from `then` (the recorded data) to `now` that refuse a
    /// resume, in words; none when the data differ only in ways a resume
    /// accepts (a topic that gained partitions).
    pub refusals: fn(then: &[u8], now: &[u8]) -> Vec<String>,
}

impl InputRecord {
    /// Why a resume of the input recorded as `then` must be refused with
    /// the input as it is now (`self`); empty when it may go on.
    pub fn refusals_since(&self, then: &[u8]) -> Vec<String> {
        if then == self.data.as_slice() {
            Vec::new()
        } else {
            (self.refusals)(then, &self.data)
        }
    }
}

impl fmt::Debug for InputRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputRecord")
            .field("name", &self.name)
            .field("summary", &self.summary)
            .field("data", &self.data.len())
            .finish()
    }
}

impl PartialEq for InputRecord {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.data == other.data
    }
}

impl Eq for InputRecord {}

/// An input as the store recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedInput {
    /// [`InputRecord::name`].
    pub name: String,
    /// [`InputRecord::summary`].
    pub summary: String,
    /// [`InputRecord::data`].
    pub data: Vec<u8>,
}

impl From<&InputRecord> for RecordedInput {
    fn from(r: &InputRecord) -> Self {
        RecordedInput {
            name: r.name.clone(),
            summary: r.summary.clone(),
            data: r.data.clone(),
        }
    }
}
