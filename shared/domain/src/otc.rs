//! One-time codes, as sign-in and email changes both use them: issuing within send limits,
//! checking, expiring, and using once. One component, so the two cannot drift apart.
//!
//! A code is 6 digits from a CSPRNG, kept only as an HMAC, valid for 10 minutes, single use, and
//! dead after 5 wrong tries. At most one code is sent a minute and five an hour. With a failure
//! budget, wrong codes are also counted over a rolling window that new codes do not reset: once
//! it is spent, no new code is issued until the window passes.
//!
//! [`CodeSlot`] is the stored state; its methods decide and change it, and the caller writes it
//! back on condition it is unchanged since it was read. An outcome counts only once that write
//! lands: a wrong try that could not be counted (another try at the same moment) is answered as
//! if the code had expired, never "wrong", so tries in parallel learn nothing more than tries
//! one after another.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::ports::Random;
use crate::signin::SigninCode;

/// The limits of one kind of code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub lifetime: Duration,
    pub max_wrong_tries: u32,
    pub min_send_interval: Duration,
    pub max_sends_per_hour: usize,
    /// Wrong codes allowed within the window, whatever codes they were for; `None` for no budget.
    pub failure_budget: Option<(usize, Duration)>,
}

pub const CODE_LIFETIME: Duration = Duration::minutes(10);
pub const MAX_WRONG_TRIES: u32 = 5;
pub const MIN_SEND_INTERVAL: Duration = Duration::minutes(1);
pub const MAX_SENDS_PER_HOUR: usize = 5;
/// Ten wrong codes in a day, across every code sent, lock sign-in by typed address for the day.
pub const FAILURE_BUDGET: (usize, Duration) = (10, Duration::hours(24));

impl Limits {
    /// Codes sent to an address someone typed (sign-in, a new email address).
    pub const TYPED: Limits = Limits {
        lifetime: CODE_LIFETIME,
        max_wrong_tries: MAX_WRONG_TRIES,
        min_send_interval: MIN_SEND_INTERVAL,
        max_sends_per_hour: MAX_SENDS_PER_HOUR,
        failure_budget: Some(FAILURE_BUDGET),
    };
    /// Codes asked through a member's own access link: only the link's holder can ask.
    pub const ACCESS_LINK: Limits = Limits { failure_budget: None, ..Limits::TYPED };
    /// Codes that confirm a new email address: only a signed-in member can enter them.
    pub const EMAIL_CHANGE: Limits = Limits { failure_budget: None, ..Limits::TYPED };
}

/// A code's stored state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSlot {
    /// HMAC of the live code; empty once used, dead or cancelled.
    #[serde(default)]
    pub code_mac: String,
    #[serde(default, alias = "code_expires")]
    pub expires: Option<DateTime<Utc>>,
    #[serde(default)]
    pub wrong_tries: u32,
    /// When codes were sent in the last hour.
    #[serde(default)]
    pub sends: Vec<DateTime<Utc>>,
    /// When wrong codes were entered within the failure budget's window.
    #[serde(default)]
    pub failures: Vec<DateTime<Utc>>,
}

/// What asking for a code led to.
#[derive(Debug)]
pub enum Issue {
    Issued(SigninCode),
    /// The last code went out less than the minimum interval ago.
    TooSoon {
        retry_after: Duration,
    },
    /// The hour's sends are used up.
    TooMany {
        retry_after: Duration,
    },
    /// The failure budget is spent: no code until `until`.
    Locked {
        until: DateTime<Utc>,
    },
}

/// What entering a code led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Right,
    Wrong {
        tries_left: u32,
    },
    /// No live code: expired, used, cancelled, or never issued.
    Expired,
    /// This code took its last wrong try (`just_now` on that try; later tries only hear so).
    TooManyTries {
        just_now: bool,
    },
    /// The failure budget was spent (`just_now` on the try that spent it).
    Locked {
        until: DateTime<Utc>,
        just_now: bool,
    },
}

impl CodeSlot {
    fn forget_old(&mut self, limits: &Limits, now: DateTime<Utc>) {
        self.sends.retain(|t| now - *t < Duration::hours(1));
        if let Some((_, window)) = limits.failure_budget {
            self.failures.retain(|t| now - *t < window);
        } else {
            self.failures.clear();
        }
    }

    /// When the failure budget frees up again, if it is spent.
    pub fn locked_until(&self, limits: &Limits, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let (budget, window) = limits.failure_budget?;
        let recent: Vec<&DateTime<Utc>> = self.failures.iter().filter(|t| now - **t < window).collect();
        (recent.len() >= budget).then(|| recent.iter().map(|t| **t + window).min().unwrap_or(now))
    }

    /// Issues a new code (replacing any live one) within the limits. `mac` gives the HMAC the
    /// code is kept as.
    pub fn issue(&mut self, limits: &Limits, now: DateTime<Utc>, random: &dyn Random, mac: impl Fn(&str) -> String) -> Issue {
        self.forget_old(limits, now);
        if let Some(until) = self.locked_until(limits, now) {
            return Issue::Locked { until };
        }
        if let Some(last) = self.sends.iter().max() {
            if now - *last < limits.min_send_interval {
                return Issue::TooSoon { retry_after: limits.min_send_interval - (now - *last) };
            }
        }
        if self.sends.len() >= limits.max_sends_per_hour {
            let oldest = self.sends.iter().min().copied().unwrap_or(now);
            return Issue::TooMany { retry_after: Duration::hours(1) - (now - oldest) };
        }
        let code = SigninCode::generate(random);
        self.code_mac = mac(code.expose());
        self.expires = Some(now + limits.lifetime);
        self.wrong_tries = 0;
        self.sends.push(now);
        Issue::Issued(code)
    }

    /// Checks a code (`given_mac` is its HMAC as [`CodeSlot::issue`] keeps it). A right code is
    /// used up; a wrong one is counted against the code and the failure budget. `accepts` is
    /// false when a right code cannot be used (an address no member has): it counts as wrong.
    pub fn check(&mut self, limits: &Limits, now: DateTime<Utc>, given_mac: &str, accepts: bool) -> Check {
        self.forget_old(limits, now);
        if let Some(until) = self.locked_until(limits, now) {
            return Check::Locked { until, just_now: false };
        }
        if self.wrong_tries >= limits.max_wrong_tries {
            return Check::TooManyTries { just_now: false };
        }
        if self.code_mac.is_empty() || self.expires.is_none_or(|t| now >= t) {
            return Check::Expired;
        }
        let right: bool = given_mac.as_bytes().ct_eq(self.code_mac.as_bytes()).into();
        if right && accepts {
            self.used();
            return Check::Right;
        }
        self.wrong_tries += 1;
        if limits.failure_budget.is_some() {
            self.failures.push(now);
        }
        if let Some(until) = self.locked_until(limits, now) {
            self.used();
            return Check::Locked { until, just_now: true };
        }
        if self.wrong_tries >= limits.max_wrong_tries {
            self.code_mac.clear();
            return Check::TooManyTries { just_now: true };
        }
        Check::Wrong { tries_left: limits.max_wrong_tries - self.wrong_tries }
    }

    /// Ends the live code.
    pub fn used(&mut self) {
        self.code_mac.clear();
        self.expires = None;
    }

    /// Takes back a send that never reached anyone (the mail service failed): the code is dead
    /// and the send does not count, so a new code may be asked for at once.
    pub fn cancel(&mut self, sent_at: DateTime<Utc>) {
        self.sends.retain(|t| *t != sent_at);
        self.used();
    }

    /// How long the state must be kept: an hour past the last send, and for the failure budget's
    /// window past the last failure.
    pub fn keep_until(&self, limits: &Limits, now: DateTime<Utc>) -> DateTime<Utc> {
        let sends = self.sends.iter().max().map_or(now, |t| *t) + Duration::hours(1);
        let failures = match limits.failure_budget {
            Some((_, window)) => self.failures.iter().max().map_or(now, |t| *t + window),
            None => now,
        };
        sends.max(failures).max(now + Duration::hours(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u8);
    impl Random for Fixed {
        fn fill(&self, bytes: &mut [u8]) {
            bytes.fill(self.0);
        }
    }

    fn mac(code: &str) -> String {
        format!("mac-{code}")
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 0).unwrap()
    }

    fn issue(slot: &mut CodeSlot, limits: &Limits, now: DateTime<Utc>) -> String {
        match slot.issue(limits, now, &Fixed(7), mac) {
            Issue::Issued(code) => code.expose().to_owned(),
            other => panic!("not issued: {other:?}"),
        }
    }

    #[test]
    fn a_code_works_once_and_dies_after_five_wrong_tries_or_ten_minutes() {
        let limits = Limits::TYPED;
        let mut slot = CodeSlot::default();
        let code = issue(&mut slot, &limits, t0());
        assert_eq!(slot.check(&limits, t0(), &mac(&code), true), Check::Right);
        assert_eq!(slot.check(&limits, t0(), &mac(&code), true), Check::Expired, "used once");

        let code = issue(&mut slot, &limits, t0() + Duration::minutes(2));
        for left in (1..5).rev() {
            assert_eq!(slot.check(&limits, t0() + Duration::minutes(2), "wrong", true), Check::Wrong { tries_left: left });
        }
        assert_eq!(slot.check(&limits, t0() + Duration::minutes(2), "wrong", true), Check::TooManyTries { just_now: true });
        assert_eq!(slot.check(&limits, t0() + Duration::minutes(2), &mac(&code), true), Check::TooManyTries { just_now: false });

        let code = issue(&mut slot, &limits, t0() + Duration::minutes(4));
        assert_eq!(slot.check(&limits, t0() + Duration::minutes(14), &mac(&code), true), Check::Expired, "ten minutes");
    }

    #[test]
    fn sends_are_limited_to_one_a_minute_and_five_an_hour() {
        let limits = Limits::TYPED;
        let mut slot = CodeSlot::default();
        issue(&mut slot, &limits, t0());
        assert!(matches!(slot.issue(&limits, t0() + Duration::seconds(30), &Fixed(1), mac), Issue::TooSoon { .. }));
        for m in 1..5 {
            issue(&mut slot, &limits, t0() + Duration::minutes(m));
        }
        let Issue::TooMany { retry_after } = slot.issue(&limits, t0() + Duration::minutes(6), &Fixed(1), mac) else { panic!("too many") };
        assert_eq!(retry_after, Duration::minutes(54));
        issue(&mut slot, &limits, t0() + Duration::minutes(61));
        // A send that never went out does not count.
        let mut slot = CodeSlot::default();
        issue(&mut slot, &limits, t0());
        slot.cancel(t0());
        issue(&mut slot, &limits, t0() + Duration::seconds(1));
    }

    #[test]
    fn new_codes_do_not_reset_the_failure_budget_and_a_spent_budget_locks_for_the_window() {
        let limits = Limits::TYPED;
        let mut slot = CodeSlot::default();
        let mut now = t0();
        let mut locked = None;
        // Two wrong tries per code, a new code every 15 minutes: the per-code limit never bites.
        for round in 0..5 {
            issue(&mut slot, &limits, now);
            assert!(matches!(slot.check(&limits, now, "wrong", true), Check::Wrong { .. }));
            match slot.check(&limits, now, "wrong", true) {
                Check::Wrong { .. } => assert!(round < 4),
                Check::Locked { until, just_now: true } => locked = Some(until),
                other => panic!("{other:?}"),
            }
            now += Duration::minutes(15);
        }
        let until = locked.expect("the tenth wrong code spends the budget");
        assert_eq!(until, t0() + Duration::hours(24));
        assert!(matches!(slot.issue(&limits, now, &Fixed(1), mac), Issue::Locked { .. }), "no new code");
        assert!(matches!(slot.check(&limits, now, "wrong", true), Check::Locked { just_now: false, .. }));
        // After the window, codes are issued again.
        issue(&mut slot, &limits, t0() + Duration::hours(24) + Duration::minutes(1));
        assert!(slot.keep_until(&limits, now) >= t0() + Duration::hours(24));
    }

    #[test]
    fn an_access_link_has_no_failure_budget_and_a_right_code_that_cannot_be_used_counts_as_wrong() {
        let mut slot = CodeSlot::default();
        let limits = Limits::ACCESS_LINK;
        for hour in 0..4 {
            let code = issue(&mut slot, &limits, t0() + Duration::hours(hour));
            for _ in 0..4 {
                slot.check(&limits, t0() + Duration::hours(hour), "wrong", true);
            }
            assert_eq!(slot.check(&limits, t0() + Duration::hours(hour), &mac(&code), false), Check::TooManyTries { just_now: true });
        }
        assert!(slot.failures.is_empty());
    }
}
