//! Input model of the `ut_pex` target: payloads received on one connection at fuzzed
//! times, and when to announce the peers learned so far.

use crate::script::{Reader, Writer};

pub const MAX_STEPS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub advance_secs: u8,
    pub payload: Vec<u8>,
    /// Announce our current peers after this step.
    pub poll: bool,
    /// Forget the first `drop` learned peers (they disconnected).
    pub drop: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub private: bool,
    pub steps: Vec<Step>,
}

impl Input {
    pub fn read(data: &[u8]) -> Self {
        let mut r = Reader::new(data);
        let private = r.bool();
        let mut steps = Vec::new();
        while !r.is_empty() && steps.len() < MAX_STEPS {
            steps.push(Step {
                advance_secs: r.u8(),
                payload: r.bytes().to_vec(),
                poll: r.bool(),
                drop: r.u8(),
            });
        }
        Input { private, steps }
    }

    pub fn write(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bool(self.private);
        for s in &self.steps {
            w.u8(s.advance_secs)
                .bytes(&s.payload)
                .bool(s.poll)
                .u8(s.drop);
        }
        w.finish()
    }
}
