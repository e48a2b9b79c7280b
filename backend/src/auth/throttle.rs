//! Slows down guessing passwords: after [`FREE_FAILURES`] failed sign-ins for one user
//! or from one address, the next attempt must wait [`DELAY_S`] after the last failure or
//! is answered 429 with `Retry-After`. Kept in memory (a restart forgets it), bounded.

use std::collections::HashMap;
use std::net::IpAddr;

/// Failed sign-ins allowed at full speed.
pub const FREE_FAILURES: u32 = 5;

/// Seconds between attempts once the free failures are used up.
pub const DELAY_S: i64 = 5;

/// A key's failures are forgotten this long after its last one.
pub const FORGET_AFTER_S: i64 = 15 * 60;

/// Most keys remembered: a flood of made-up names cannot grow the map without bound.
pub const MAX_KEYS: usize = 20_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_at: i64,
}

#[derive(Debug, Default)]
pub struct Throttle {
    failures: HashMap<Key, Failures>,
}

impl Throttle {
    /// Seconds until `username` from `address` may try again; `None`: now.
    pub fn wait(&self, username: &str, address: Option<IpAddr>, now: i64) -> Option<i64> {
        let keys = [
            Some(Key::User(username.to_string())),
            address.map(Key::Address),
        ];
        keys.iter()
            .flatten()
            .filter_map(|key| self.failures.get(key))
            .filter(|failures| failures.count >= FREE_FAILURES)
            .map(|failures| failures.last_at + DELAY_S - now)
            .filter(|wait| *wait > 0)
            .max()
    }

    /// Counts a failed sign-in of `username` from `address`.
    pub fn failed(&mut self, username: &str, address: Option<IpAddr>, now: i64) {
        if self.failures.len() + 2 > MAX_KEYS {
            self.failures
                .retain(|_, failures| now - failures.last_at < FORGET_AFTER_S);
        }
        for key in [
            address.map(Key::Address),
            Some(Key::User(username.to_string())),
        ]
        .into_iter()
        .flatten()
        {
            if self.failures.len() >= MAX_KEYS && !self.failures.contains_key(&key) {
                // Still full of recent failures (an attack on many names at once): keys
                // already known go on counting, new ones wait for room.
                continue;
            }
            let entry = self.failures.entry(key).or_insert(Failures {
                count: 0,
                last_at: now,
            });
            if now - entry.last_at >= FORGET_AFTER_S {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last_at = now;
        }
    }

    /// A successful sign-in clears the user's and the address's failures.
    pub fn succeeded(&mut self, username: &str, address: Option<IpAddr>) {
        self.failures.remove(&Key::User(username.to_string()));
        if let Some(address) = address {
            self.failures.remove(&Key::Address(address));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    #[test]
    fn five_failures_then_one_attempt_per_delay() {
        let mut throttle = Throttle::default();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.wait("alice", HOME, 100), None);
            throttle.failed("alice", HOME, 100);
        }
        assert_eq!(throttle.wait("alice", HOME, 100), Some(DELAY_S));
        assert_eq!(throttle.wait("alice", HOME, 103), Some(2));
        // The user is throttled from any address, the address for any user.
        assert_eq!(throttle.wait("alice", AWAY, 101), Some(4));
        assert_eq!(throttle.wait("bob", HOME, 101), Some(4));
        assert_eq!(throttle.wait("bob", AWAY, 101), None);
        assert_eq!(throttle.wait("alice", HOME, 105), None);
        throttle.failed("alice", HOME, 105);
        assert_eq!(throttle.wait("alice", HOME, 106), Some(4));
        // Forgotten after a quiet while, and cleared by a success.
        assert_eq!(throttle.wait("alice", HOME, 105 + FORGET_AFTER_S), None);
        throttle.succeeded("alice", HOME);
        assert_eq!(throttle.wait("alice", HOME, 106), None);
    }

    #[test]
    fn the_map_stays_bounded() {
        let mut throttle = Throttle::default();
        for i in 0..(MAX_KEYS * 2) {
            throttle.failed(&format!("user{i}"), HOME, 0);
        }
        assert!(throttle.failures.len() <= MAX_KEYS);
        // Once the old entries are forgotten there is room again.
        throttle.failed("late", HOME, FORGET_AFTER_S + 1);
        assert!(throttle.failures.len() <= 2);
    }
}
