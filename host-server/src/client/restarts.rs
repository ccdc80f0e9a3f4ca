//! Nomad v0.6.3's restart tracker: whether and when a task that exited (or
//! failed to start) runs again under its group's restart policy.

use std::time::{Duration, Instant};

use caravan_core::gofmt;
use caravan_core::model::{RestartPolicy, JOB_TYPE_BATCH};

pub(crate) const REASON_NO_RESTARTS_ALLOWED: &str = "Policy allows no restarts";
pub(crate) const REASON_UNRECOVERABLE: &str = "Error was unrecoverable";
pub(crate) const REASON_WITHIN_POLICY: &str = "Restart within policy";
pub(crate) const REASON_DELAY: &str = "Exceeded allowed attempts, applying a delay";
const REASON_SUCCESS_NO_RESTART: &str = "Restart unnecessary as task terminated successfully";

/// Up to a quarter of the delay is added at random to spread restarts.
const JITTER: f64 = 0.25;

/// How a task process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WaitResult {
    pub exit_code: i64,
    pub signal: i64,
    pub err: Option<String>,
}

impl WaitResult {
    pub(crate) fn successful(&self) -> bool {
        self.exit_code == 0 && self.signal == 0 && self.err.is_none()
    }
}

/// The tracker's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Run again after the delay.
    Restart(Duration),
    /// Give up: the task failed.
    NotRestarting,
    /// Done: the task finished and needs no restart.
    Terminated,
}

#[derive(Debug)]
pub(crate) struct RestartTracker {
    policy: RestartPolicy,
    on_success: bool,
    count: i64,
    start: Instant,
    reason: String,
    wait: Option<WaitResult>,
    /// A start failure and whether it is recoverable.
    start_err: Option<bool>,
    rng: u64,
}

impl RestartTracker {
    /// Batch tasks that exit cleanly are done; other job types restart them.
    pub(crate) fn new(policy: RestartPolicy, job_type: &str, seed: u64) -> RestartTracker {
        RestartTracker {
            policy,
            on_success: job_type != JOB_TYPE_BATCH,
            count: 0,
            start: Instant::now(),
            reason: String::new(),
            wait: None,
            start_err: None,
            rng: seed | 1,
        }
    }

    pub(crate) fn set_policy(&mut self, policy: RestartPolicy) {
        self.policy = policy;
    }

    pub(crate) fn set_wait_result(&mut self, res: WaitResult) {
        self.wait = Some(res);
    }

    pub(crate) fn set_start_error(&mut self, recoverable: bool) {
        self.start_err = Some(recoverable);
    }

    /// The reason given with the last decision.
    pub(crate) fn reason(&self) -> &str {
        &self.reason
    }

    /// Decides on the recorded exit or start error (and forgets it).
    pub(crate) fn decide(&mut self) -> Decision {
        self.decide_at(Instant::now())
    }

    fn decide_at(&mut self, now: Instant) -> Decision {
        let wait = self.wait.take();
        let start_err = self.start_err.take();
        if self.policy.attempts == 0 {
            self.reason = REASON_NO_RESTARTS_ALLOWED.into();
            return if wait.as_ref().is_some_and(WaitResult::successful) {
                Decision::Terminated
            } else {
                Decision::NotRestarting
            };
        }
        self.count += 1;
        let interval = nanos(self.policy.interval);
        if now > self.start + interval {
            self.count = 0;
            self.start = now;
        }
        if let Some(recoverable) = start_err {
            if !recoverable {
                self.reason = REASON_UNRECOVERABLE.into();
                return Decision::NotRestarting;
            }
            return self.within_policy(now);
        }
        match wait {
            Some(w) if w.successful() && !self.on_success => {
                self.reason = REASON_SUCCESS_NO_RESTART.into();
                Decision::Terminated
            }
            Some(_) => self.within_policy(now),
            None => Decision::Terminated,
        }
    }

    fn within_policy(&mut self, now: Instant) -> Decision {
        if self.count > self.policy.attempts {
            if self.policy.mode == "fail" {
                self.reason = format!(
                    "Exceeded allowed attempts {} in interval {} and mode is \"fail\"",
                    self.policy.attempts,
                    gofmt::duration(self.policy.interval)
                );
                return Decision::NotRestarting;
            }
            self.reason = REASON_DELAY.into();
            let end = self.start + nanos(self.policy.interval);
            return Decision::Restart(end.saturating_duration_since(now));
        }
        self.reason = REASON_WITHIN_POLICY.into();
        Decision::Restart(self.jitter())
    }

    /// The delay plus up to a quarter of it at random.
    fn jitter(&mut self) -> Duration {
        let d = self.policy.delay.max(1) as u64;
        // xorshift64: any spread will do, it only staggers restarts.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let extra = ((self.rng % d) as f64 * JITTER) as u64;
        Duration::from_nanos(d + extra)
    }
}

fn nanos(d: i64) -> Duration {
    Duration::from_nanos(u64::try_from(d).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use caravan_core::model::SECOND;

    fn policy(attempts: i64, mode: &str) -> RestartPolicy {
        RestartPolicy {
            attempts,
            interval: 60 * SECOND,
            delay: SECOND,
            mode: mode.into(),
        }
    }

    fn exit(code: i64) -> WaitResult {
        WaitResult {
            exit_code: code,
            signal: 0,
            err: None,
        }
    }

    #[test]
    fn batch_success_terminates() {
        let mut t = RestartTracker::new(policy(2, "fail"), "batch", 7);
        t.set_wait_result(exit(0));
        assert_eq!(t.decide(), Decision::Terminated);
        assert_eq!(t.reason(), REASON_SUCCESS_NO_RESTART);
    }

    #[test]
    fn service_success_restarts_with_jitter() {
        let mut t = RestartTracker::new(policy(2, "fail"), "service", 7);
        t.set_wait_result(exit(0));
        match t.decide() {
            Decision::Restart(d) => {
                assert!(d >= Duration::from_secs(1) && d <= Duration::from_millis(1250))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(t.reason(), REASON_WITHIN_POLICY);
    }

    #[test]
    fn fail_mode_gives_up_after_attempts() {
        let mut t = RestartTracker::new(policy(1, "fail"), "batch", 7);
        t.set_wait_result(exit(1));
        assert!(matches!(t.decide(), Decision::Restart(_)));
        t.set_wait_result(exit(1));
        assert_eq!(t.decide(), Decision::NotRestarting);
        assert_eq!(
            t.reason(),
            "Exceeded allowed attempts 1 in interval 1m0s and mode is \"fail\""
        );
    }

    #[test]
    fn delay_mode_waits_out_the_interval() {
        let mut t = RestartTracker::new(policy(1, "delay"), "service", 7);
        let now = t.start;
        t.set_wait_result(exit(1));
        assert!(matches!(t.decide_at(now), Decision::Restart(_)));
        t.set_wait_result(exit(1));
        assert_eq!(
            t.decide_at(now + Duration::from_secs(10)),
            Decision::Restart(Duration::from_secs(50))
        );
        assert_eq!(t.reason(), REASON_DELAY);
    }

    #[test]
    fn zero_attempts() {
        let mut t = RestartTracker::new(policy(0, "fail"), "service", 7);
        t.set_wait_result(exit(0));
        assert_eq!(t.decide(), Decision::Terminated);
        t.set_wait_result(exit(2));
        assert_eq!(t.decide(), Decision::NotRestarting);
        assert_eq!(t.reason(), REASON_NO_RESTARTS_ALLOWED);
    }

    #[test]
    fn unrecoverable_start_error() {
        let mut t = RestartTracker::new(policy(3, "delay"), "service", 7);
        t.set_start_error(false);
        assert_eq!(t.decide(), Decision::NotRestarting);
        assert_eq!(t.reason(), REASON_UNRECOVERABLE);
    }
}
