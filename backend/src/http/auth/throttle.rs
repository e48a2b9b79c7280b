//! Slows down guessing passwords: after [`FREE_FAILURES`] failed sign-ins for one user
//! or from one address, the next attempt must wait [`DELAY_S`] after the last one or is
//! answered 429 with `Retry-After`. Kept in memory (a restart forgets it; each instance
//! counts its own), bounded.
//!
//! An attempt is counted when it is let through, before its password is checked, and
//! a success clears the user's count and takes itself off the address's: a burst of parallel attempts cannot all pass while the
//! first ones are still being hashed.

use std::collections::HashMap;
use std::net::IpAddr;

/// Attempts (not followed by a success) allowed at full speed.
pub const FREE_FAILURES: u32 = 5;

/// Seconds between attempts once the free ones are used up.
pub const DELAY_S: i64 = 5;

/// A key's attempts are forgotten this long after its last one.
pub const FORGET_AFTER_S: i64 = 15 * 60;

/// Most keys remembered: a flood of made-up names cannot grow the map without bound.
pub const MAX_KEYS: usize = 20_000;

/// Longest user name kept as a key (longer ones are not valid names anyway).
const MAX_KEY_CHARS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    count: u32,
    last_at: i64,
}

#[derive(Debug, Default)]
pub struct Throttle {
    attempts: HashMap<Key, Attempts>,
}

/// The keys of an attempt. An IPv6 client is counted by its /64: one host commonly
/// holds a whole /64 and may pick a new address for every attempt.
fn keys(username: &str, address: Option<IpAddr>) -> [Option<Key>; 2] {
    let address = address.map(|address| match address.to_canonical() {
        IpAddr::V6(v6) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            IpAddr::from(octets)
        }
        v4 => v4,
    });
    let user: String = username.chars().take(MAX_KEY_CHARS).collect();
    [address.map(Key::Address), Some(Key::User(user))]
}

impl Throttle {
    /// Lets an attempt of `username` from `address` through (counting it), or says how
    /// many seconds it must wait.
    pub fn admit(&mut self, username: &str, address: Option<IpAddr>, now: i64) -> Result<(), i64> {
        let keys = keys(username, address);
        let wait = keys
            .iter()
            .flatten()
            .filter_map(|key| self.attempts.get(key))
            .filter(|attempts| now - attempts.last_at < FORGET_AFTER_S)
            .filter(|attempts| attempts.count >= FREE_FAILURES)
            .map(|attempts| attempts.last_at + DELAY_S - now)
            .filter(|wait| *wait > 0)
            .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        for key in keys.into_iter().flatten() {
            if !self.attempts.contains_key(&key) && self.attempts.len() >= MAX_KEYS {
                self.make_room(now);
            }
            let entry = self.attempts.entry(key).or_insert(Attempts {
                count: 0,
                last_at: now,
            });
            if now - entry.last_at >= FORGET_AFTER_S {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last_at = now;
        }
        Ok(())
    }

    /// Drops the forgotten keys, or else the oldest eighth: a full map never stops
    /// counting, and making room costs one pass per eighth of the map.
    fn make_room(&mut self, now: i64) {
        self.attempts
            .retain(|_, attempts| now - attempts.last_at < FORGET_AFTER_S);
        if self.attempts.len() >= MAX_KEYS {
            let mut by_age: Vec<(i64, Key)> = self
                .attempts
                .iter()
                .map(|(key, attempts)| (attempts.last_at, key.clone()))
                .collect();
            let eighth = (by_age.len() / 8).max(1);
            by_age.select_nth_unstable_by_key(eighth - 1, |(last_at, _)| *last_at);
            for (_, key) in by_age.into_iter().take(eighth) {
                self.attempts.remove(&key);
            }
        }
    }

    /// A successful sign-in clears the user's count; the address's count only loses
    /// this attempt (counted when it was let through), so that signing in to one's own
    /// account between guesses at others' never resets the address's slow-down.
    pub fn succeeded(&mut self, username: &str, address: Option<IpAddr>) {
        let [address, user] = keys(username, address);
        if let Some(user) = user {
            self.attempts.remove(&user);
        }
        if let Some(address) = address {
            if let Some(attempts) = self.attempts.get_mut(&address) {
                attempts.count = attempts.count.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    #[test]
    fn five_attempts_then_one_per_delay() {
        let mut throttle = Throttle::default();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.admit("alice", HOME, 100), Ok(()));
        }
        // Counted when let through: the sixth waits even before the five are checked.
        assert_eq!(throttle.admit("alice", HOME, 100), Err(DELAY_S));
        assert_eq!(throttle.admit("alice", HOME, 103), Err(2));
        // The user is throttled from any address, the address for any user.
        assert_eq!(throttle.admit("alice", AWAY, 101), Err(4));
        assert_eq!(throttle.admit("bob", HOME, 101), Err(4));
        assert_eq!(throttle.admit("bob", AWAY, 101), Ok(()));
        assert_eq!(throttle.admit("alice", HOME, 105), Ok(()));
        assert_eq!(throttle.admit("alice", HOME, 106), Err(4));
        // Forgotten after a quiet while, and cleared by a success.
        assert_eq!(throttle.admit("alice", HOME, 105 + FORGET_AFTER_S), Ok(()));
        throttle.succeeded("alice", HOME);
        assert_eq!(throttle.admit("alice", HOME, 105 + FORGET_AFTER_S), Ok(()));
    }

    #[test]
    fn signing_in_to_ones_own_account_does_not_reset_the_address() {
        let mut throttle = Throttle::default();
        let mut refused = 0;
        for victim in 0..40 {
            // A guess at someone else's password, then a sign-in to one's own.
            if throttle.admit(&format!("user{victim}"), HOME, 100).is_err() {
                refused += 1;
            }
            if throttle.admit("mallory", HOME, 100).is_ok() {
                throttle.succeeded("mallory", HOME);
            }
        }
        assert_eq!(refused, 40 - FREE_FAILURES, "only the free guesses pass");
        // Others signing in from the same address (an office) are not held back by
        // their own successes.
        let mut office = Throttle::default();
        for n in 0..100 {
            let name = format!("staff{n}");
            assert_eq!(office.admit(&name, AWAY, 100), Ok(()));
            office.succeeded(&name, AWAY);
        }
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_64() {
        let mut throttle = Throttle::default();
        for i in 0..FREE_FAILURES {
            let address: IpAddr = format!("2001:db8:1:2::{i}").parse().unwrap();
            assert_eq!(
                throttle.admit(&format!("user{i}"), Some(address), 0),
                Ok(())
            );
        }
        let next: IpAddr = "2001:db8:1:2:ffff::1".parse().unwrap();
        assert_eq!(throttle.admit("another", Some(next), 0), Err(DELAY_S));
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(throttle.admit("another", Some(elsewhere), 0), Ok(()));
    }

    #[test]
    fn a_full_map_keeps_counting() {
        let mut throttle = Throttle::default();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.admit("target", HOME, 0), Ok(()));
        }
        // A flood of made-up names from many addresses fills the map...
        for i in 0..(MAX_KEYS * 2) {
            let address = IpAddr::from(u32::try_from(i).unwrap().to_be_bytes());
            let _ = throttle.admit(&format!("junk{i}"), Some(address), 1);
        }
        assert!(throttle.attempts.len() <= MAX_KEYS);
        // ...by evicting the oldest keys, never by skipping new ones: the flood's own
        // keys keep counting, and the map stays bounded.
        let address = IpAddr::from([192, 0, 2, 1]);
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.admit("fresh", Some(address), 2), Ok(()));
        }
        assert_eq!(throttle.admit("fresh", Some(address), 2), Err(DELAY_S));
        assert!(throttle.attempts.len() <= MAX_KEYS);
    }
}
