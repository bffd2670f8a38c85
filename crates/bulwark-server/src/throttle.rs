//! How failed logins slow down the next try, instead of locking an account that any stranger
//! could lock by guessing: after a few free failures within the window, each further try of a
//! user name must wait 1, 2, 4 … seconds after the last failure, at most a minute — so the
//! right password always gets in after a short delay. A source address that keeps failing
//! (against any user names) backs off up to fifteen minutes, which stops a guesser without
//! touching anyone else.

/// How far back failures count, and how long they are kept.
pub const WINDOW_SECS: i64 = 15 * 60;

/// The backoff of one kind of pressure.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Failures within the window that cost nothing.
    pub free: i64,
    /// The longest wait after a failure.
    pub max_delay_secs: i64,
}

/// A user name: anyone can fail against it, so its wait stays short.
pub const PER_USER: Backoff = Backoff {
    free: 5,
    max_delay_secs: 60,
};

/// A source address: only its own failures count against it.
pub const PER_SOURCE: Backoff = Backoff {
    free: 20,
    max_delay_secs: WINDOW_SECS,
};

impl Backoff {
    /// Seconds left before the next try, given the failures within the window and the last.
    pub fn wait_secs(self, failures: i64, last_failure: Option<i64>, now: i64) -> i64 {
        let Some(last) = last_failure else {
            return 0;
        };
        if failures < self.free {
            return 0;
        }
        let doublings = (failures - self.free).min(20) as u32;
        let delay = 1i64
            .checked_shl(doublings)
            .unwrap_or(i64::MAX)
            .min(self.max_delay_secs);
        (last + delay - now).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_after_the_free_failures_and_stay_bounded() {
        let now = 1_000;
        // (failures, seconds since the last one) -> wait
        let cases = [
            (0, 0, 0),
            (4, 0, 0),
            (5, 0, 1),
            (5, 1, 0),
            (6, 0, 2),
            (8, 3, 5),
            (11, 0, 60),
            (500, 0, 60),
            (500, 60, 0),
        ];
        for (failures, ago, want) in cases {
            assert_eq!(
                PER_USER.wait_secs(failures, Some(now - ago), now),
                want,
                "{failures} failures, the last {ago} s ago"
            );
        }
        assert_eq!(PER_SOURCE.wait_secs(30, Some(now), now), 900);
        assert_eq!(PER_USER.wait_secs(9, None, now), 0);
    }
}
