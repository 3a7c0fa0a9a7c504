//! The phases of a torrent's control task as a sans-IO state machine: running
//! (`Active`), stopping an active phase, paused, waiting out a disk fault, closed. The
//! control loop (`mod.rs`) reads the torrent's shutdown and pause channels and its
//! events, feeds them in (`handle_*`, each with an explicit `now` where time matters),
//! and does what the phase says: run peers and trackers, tear them down, wait.
//!
//! ```text
//! from              input                        to
//! Paused            asks: run                    Active
//! Active            asks: pause                  Stopping(Pause)
//! Active            disk fault                   Stopping(Fault)
//! Active, Stopping  shutdown                     Stopping(Close)
//! Stopping(Pause)   stopped                      Paused
//! Stopping(Fault)   stopped at now               Faulted { until: now + retry }
//! Stopping(Close)   stopped                      Closed
//! Faulted           deadline, pause signal       Paused
//! Paused, Faulted   shutdown                     Closed
//! ```
//!
//! `Paused` is also where an ended phase lands: after a stop or a fault the next
//! decision point (`handle_asks`) starts the torrent again unless a pause is asked, so
//! what was asked meanwhile is read fresh before anything starts.

use std::time::{Duration, Instant};

/// Fewest seconds between two re-checks started because data went missing, so a disk
/// that fails every read cannot keep the torrent re-checking.
pub(super) const MISSING_RECHECK_GAP: Duration = Duration::from_secs(60);

/// Why an active phase is ending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// A pause was asked for: peers go, trackers are told, files flushed and released.
    Pause,
    /// A disk fault: as for a pause, then the fault is waited out.
    Fault,
    /// Shutdown, or the event channel closed: files are flushed and closed at the end.
    Close,
}

/// What the control task is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Announcer, discovery, choker and dialling run.
    Active,
    /// The active phase is being torn down; [`PhaseMachine::handle_stopped`] ends it.
    Stopping(Stop),
    /// No peers, files closed: as asked, or until the next decision point after a
    /// stop or a fault.
    Paused,
    /// Paused by a disk fault until `until`, when it is retried.
    Faulted { until: Instant },
    /// Shut down; the files are flushed and closed and the task ends.
    Closed,
}

/// What is asked of the torrent now, as read from its shutdown and pause channels.
/// Fields are public: a plain input of the phase machine, read from two channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Asks {
    pub shutdown: bool,
    pub pause: bool,
}

/// The control task's phase and what it needs to decide the next one.
#[derive(Debug)]
pub(super) struct PhaseMachine {
    phase: Phase,
    /// How long a disk fault is waited out before a retry.
    retry: Duration,
    /// When a re-check for missing data was last started.
    last_recheck: Option<Instant>,
}

impl PhaseMachine {
    /// A machine for a torrent that is not running yet; the first [`Self::handle_asks`]
    /// decides whether it starts. Disk faults are retried after `retry`.
    pub(super) fn new(retry: Duration) -> Self {
        PhaseMachine {
            phase: Phase::Paused,
            retry,
            last_recheck: None,
        }
    }

    pub(super) fn phase(&self) -> Phase {
        self.phase
    }

    /// When [`Self::handle_timeout`] is due: the end of a fault's wait.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Faulted { until } => Some(until),
            _ => None,
        }
    }

    /// A decision point: `asks` is what is asked now. Shutdown ends every phase; a
    /// pause ends an active phase and its absence starts a paused one. A fault is
    /// waited out whatever the pause state (only a new pause signal ends it early), and
    /// a stop under way is finished first.
    pub(super) fn handle_asks(&mut self, asks: Asks) {
        if asks.shutdown {
            self.handle_shutdown();
            return;
        }
        self.phase = match self.phase {
            Phase::Active if asks.pause => Phase::Stopping(Stop::Pause),
            Phase::Paused if !asks.pause => Phase::Active,
            other => other,
        };
    }

    /// Shutdown was asked for (or the control channel closed): an active phase stops
    /// without releasing files, anything else closes at once.
    pub(super) fn handle_shutdown(&mut self) {
        self.phase = match self.phase {
            Phase::Active | Phase::Stopping(_) => Phase::Stopping(Stop::Close),
            Phase::Paused | Phase::Faulted { .. } | Phase::Closed => Phase::Closed,
        };
    }

    /// The pause channel was written (a pause or a resume, even one asking for what is
    /// asked already). Ends a fault's wait at once, so a manual resume retries now; the
    /// next [`Self::handle_asks`] decides what follows. Elsewhere the pause state is
    /// read at decision points and the signal itself changes nothing.
    pub(super) fn handle_pause_signal(&mut self) {
        if let Phase::Faulted { .. } = self.phase {
            self.phase = Phase::Paused;
        }
    }

    /// A local disk fault was reported. Ends an active phase; ignored otherwise (the
    /// writes in flight when the first fault struck report failures too).
    pub(super) fn handle_disk_fault(&mut self) {
        if self.phase == Phase::Active {
            self.phase = Phase::Stopping(Stop::Fault);
        }
    }

    /// The active phase's teardown finished at `now` (peers gone, trackers told, files
    /// flushed). After a fault the retry is due `retry` from now: the interval counts
    /// from when the torrent went quiet, not from the fault's report.
    pub(super) fn handle_stopped(&mut self, now: Instant) {
        if let Phase::Stopping(stop) = self.phase {
            self.phase = match stop {
                Stop::Pause => Phase::Paused,
                Stop::Fault => Phase::Faulted {
                    until: now + self.retry,
                },
                Stop::Close => Phase::Closed,
            };
        }
    }

    /// Time passed: a fault whose deadline is reached is over, and the next
    /// [`Self::handle_asks`] retries unless a pause is asked.
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        if let Phase::Faulted { until } = self.phase {
            if now >= until {
                self.phase = Phase::Paused;
            }
        }
    }

    /// Data we had verified is missing from disk at `now`: whether to start a re-check.
    /// Only while active, and at most once per [`MISSING_RECHECK_GAP`].
    pub(super) fn handle_data_missing(&mut self, now: Instant) -> bool {
        if self.phase != Phase::Active {
            return false;
        }
        let recent = self
            .last_recheck
            .is_some_and(|at| now.saturating_duration_since(at) < MISSING_RECHECK_GAP);
        if recent {
            return false;
        }
        self.last_recheck = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY: Duration = Duration::from_secs(30);
    const RUN: Asks = Asks {
        shutdown: false,
        pause: false,
    };
    const PAUSE: Asks = Asks {
        shutdown: false,
        pause: true,
    };
    const SHUTDOWN: Asks = Asks {
        shutdown: true,
        pause: false,
    };

    fn active() -> PhaseMachine {
        let mut m = PhaseMachine::new(RETRY);
        m.handle_asks(RUN);
        assert_eq!(m.phase(), Phase::Active);
        m
    }

    /// A machine whose active phase stopped for a fault at `at`.
    fn faulted(at: Instant) -> PhaseMachine {
        let mut m = active();
        m.handle_disk_fault();
        assert_eq!(m.phase(), Phase::Stopping(Stop::Fault));
        m.handle_stopped(at);
        m
    }

    #[test]
    fn the_first_decision_starts_or_stays_paused() {
        let mut m = PhaseMachine::new(RETRY);
        assert_eq!(m.phase(), Phase::Paused);
        m.handle_asks(PAUSE);
        assert_eq!(m.phase(), Phase::Paused);
        m.handle_asks(RUN);
        assert_eq!(m.phase(), Phase::Active);

        let mut m = PhaseMachine::new(RETRY);
        m.handle_asks(Asks {
            shutdown: true,
            pause: true,
        });
        assert_eq!(m.phase(), Phase::Closed);
    }

    #[test]
    fn a_pause_stops_the_active_phase_and_a_resume_restarts_it() {
        let mut m = active();
        m.handle_asks(RUN);
        assert_eq!(m.phase(), Phase::Active);
        m.handle_asks(PAUSE);
        assert_eq!(m.phase(), Phase::Stopping(Stop::Pause));
        // Nothing else happens before the teardown is done.
        m.handle_asks(RUN);
        assert_eq!(m.phase(), Phase::Stopping(Stop::Pause));
        m.handle_stopped(crate::clock::now());
        assert_eq!(m.phase(), Phase::Paused);
        m.handle_asks(RUN);
        assert_eq!(m.phase(), Phase::Active);
    }

    #[test]
    fn shutdown_wins_everywhere() {
        let mut m = active();
        m.handle_asks(SHUTDOWN);
        assert_eq!(m.phase(), Phase::Stopping(Stop::Close));
        m.handle_stopped(crate::clock::now());
        assert_eq!(m.phase(), Phase::Closed);
        m.handle_asks(RUN);
        assert_eq!(m.phase(), Phase::Closed, "closed is final");

        let mut m = active();
        m.handle_asks(PAUSE);
        m.handle_shutdown();
        assert_eq!(
            m.phase(),
            Phase::Stopping(Stop::Close),
            "a pause's stop is upgraded"
        );

        let mut m = PhaseMachine::new(RETRY);
        m.handle_asks(PAUSE);
        m.handle_shutdown();
        assert_eq!(m.phase(), Phase::Closed);

        let mut m = faulted(crate::clock::now());
        m.handle_shutdown();
        assert_eq!(m.phase(), Phase::Closed);
    }

    #[test]
    fn a_fault_is_retried_after_the_interval_from_the_stop() {
        let t0 = crate::clock::now();
        // The teardown took 2 s after the fault's report: the wait counts from there.
        let stopped = t0 + Duration::from_secs(2);
        let mut m = faulted(stopped);
        assert_eq!(
            m.phase(),
            Phase::Faulted {
                until: stopped + RETRY
            }
        );
        assert_eq!(m.poll_timeout(), Some(stopped + RETRY));
        m.handle_timeout(stopped + RETRY - Duration::from_nanos(1));
        assert!(matches!(m.phase(), Phase::Faulted { .. }), "not before");
        // Decision points do not cut the wait short.
        m.handle_asks(RUN);
        m.handle_asks(PAUSE);
        assert!(matches!(m.phase(), Phase::Faulted { .. }));
        m.handle_timeout(stopped + RETRY);
        assert_eq!(m.phase(), Phase::Paused);
        assert_eq!(m.poll_timeout(), None);
        m.handle_asks(RUN);
        assert_eq!(m.phase(), Phase::Active, "retried");
    }

    #[test]
    fn a_fault_then_a_pause_asked_stays_paused() {
        let t0 = crate::clock::now();
        let mut m = faulted(t0);
        m.handle_timeout(t0 + RETRY);
        m.handle_asks(PAUSE);
        assert_eq!(m.phase(), Phase::Paused);
    }

    #[test]
    fn a_pause_signal_ends_the_fault_at_once() {
        let t0 = crate::clock::now();
        let mut m = faulted(t0);
        m.handle_pause_signal();
        assert_eq!(m.phase(), Phase::Paused);
        m.handle_asks(RUN);
        assert_eq!(m.phase(), Phase::Active, "a resume retries now");

        let mut m = faulted(t0);
        m.handle_pause_signal();
        m.handle_asks(PAUSE);
        assert_eq!(m.phase(), Phase::Paused, "a pause keeps it paused");
    }

    #[test]
    fn pause_signals_outside_a_fault_change_nothing() {
        let mut m = active();
        m.handle_pause_signal();
        assert_eq!(m.phase(), Phase::Active);
        let mut m = PhaseMachine::new(RETRY);
        m.handle_pause_signal();
        assert_eq!(m.phase(), Phase::Paused);
    }

    #[test]
    fn disk_faults_matter_only_while_active() {
        let t0 = crate::clock::now();
        let mut m = faulted(t0);
        m.handle_disk_fault();
        assert_eq!(m.phase(), Phase::Faulted { until: t0 + RETRY });

        let mut m = PhaseMachine::new(RETRY);
        m.handle_disk_fault();
        assert_eq!(m.phase(), Phase::Paused);

        let mut m = active();
        m.handle_asks(PAUSE);
        m.handle_disk_fault();
        assert_eq!(m.phase(), Phase::Stopping(Stop::Pause));
    }

    #[test]
    fn missing_data_rechecks_at_most_once_a_gap() {
        let t0 = crate::clock::now();
        let mut m = active();
        assert!(m.handle_data_missing(t0));
        assert!(!m.handle_data_missing(t0));
        assert!(!m.handle_data_missing(t0 + MISSING_RECHECK_GAP - Duration::from_nanos(1)));
        assert!(m.handle_data_missing(t0 + MISSING_RECHECK_GAP));
        // The gap counts from the last re-check started, not from the last report.
        let next = t0 + MISSING_RECHECK_GAP;
        assert!(!m.handle_data_missing(next + MISSING_RECHECK_GAP / 2));
        assert!(m.handle_data_missing(next + MISSING_RECHECK_GAP));
    }

    #[test]
    fn missing_data_is_ignored_while_not_running_and_the_gap_survives_phases() {
        let t0 = crate::clock::now();
        let mut m = PhaseMachine::new(RETRY);
        assert!(!m.handle_data_missing(t0), "paused");
        m.handle_asks(RUN);
        assert!(m.handle_data_missing(t0));
        m.handle_disk_fault();
        assert!(!m.handle_data_missing(t0 + MISSING_RECHECK_GAP), "stopping");
        m.handle_stopped(t0);
        assert!(!m.handle_data_missing(t0 + MISSING_RECHECK_GAP), "faulted");
        m.handle_timeout(t0 + RETRY);
        m.handle_asks(RUN);
        // A new active phase still honours the gap of the last one.
        assert!(!m.handle_data_missing(t0 + RETRY));
        assert!(m.handle_data_missing(t0 + MISSING_RECHECK_GAP));
    }
}
