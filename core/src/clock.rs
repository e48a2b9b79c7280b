//! The server's clock, which tests can move forward (session expiry, sign-in slow-down,
//! retention cutoffs, silence) instead of waiting. Everything that decides by the time
//! takes a [`Clock`]; [`unix_now`] is the system clock for what no test moves.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Unix seconds: the system clock plus an offset that only tests change.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_s: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    pub fn now(&self) -> i64 {
        unix_now().saturating_add(self.offset_s.load(Ordering::Relaxed))
    }

    /// Unix milliseconds on the same clock.
    pub fn now_ms(&self) -> i64 {
        let offset_ms = self.offset_s.load(Ordering::Relaxed).saturating_mul(1000);
        let system_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
            });
        system_ms.saturating_add(offset_ms)
    }

    /// Moves this clock, and every clone of it, `seconds` ahead.
    pub fn advance(&self, seconds: i64) {
        self.offset_s.fetch_add(seconds, Ordering::Relaxed);
    }
}

/// The system clock as Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
