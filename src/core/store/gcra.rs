//! The generic cell rate algorithm (GCRA): a token bucket kept as one number per key, the
//! "theoretical arrival time" (TAT) of the next event. The in-memory limiter runs this code;
//! `gcra.lua` is the same arithmetic inside Redis, so both backends agree.
//!
//! All times are whole microseconds on one clock (monotonic in memory, Redis `TIME` in Redis).

use std::time::Duration;

use super::values::Rate;

/// The longest period a rate may have; longer ones are cut to it. It keeps every number the
/// Lua script handles exact in a double (Unix time in µs plus this stays below 2^53).
pub(crate) const MAX_PERIOD: Duration = Duration::from_secs(366 * 24 * 3600);

/// One rate in microseconds: an event every `interval`, at most `period` of credit ahead
/// (`period = interval × count`, so a burst of `count` events passes on an idle key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gcra {
    pub(crate) interval: u64,
    pub(crate) period: u64,
}

impl Gcra {
    /// `None` when the rate does not limit (a zero count or a zero period).
    pub(crate) fn new(rate: Rate) -> Option<Gcra> {
        let count = u64::from(rate.count());
        let per = u64::try_from(rate.per().min(MAX_PERIOD).as_micros()).unwrap_or(u64::MAX);
        if count == 0 || per == 0 {
            return None;
        }
        let interval = (per / count).max(1);
        Some(Gcra {
            interval,
            period: interval.saturating_mul(count),
        })
    }

    /// One event at `now` against the key's stored TAT (`None`: idle key).
    /// `Ok(new_tat)`: granted, store `new_tat` (the key may be forgotten once `now` reaches
    /// it). `Err(wait)`: refused, store nothing, retry after `wait` microseconds (> 0).
    pub(crate) fn decide(self, tat: Option<u64>, now: u64) -> Result<u64, u64> {
        let tat = tat.unwrap_or(now).max(now);
        // tat + interval - period, without overflow (period >= interval).
        let allow_at = tat.saturating_sub(self.period - self.interval);
        if now < allow_at {
            Err(allow_at - now)
        } else {
            Ok(tat.saturating_add(self.interval))
        }
    }
}

/// Microseconds as a [`Duration`].
pub(crate) fn micros(us: u64) -> Duration {
    Duration::from_micros(us)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000;

    fn gcra(count: u32, per_secs: u64) -> Gcra {
        Gcra::new(Rate::new(count, Duration::from_secs(per_secs))).unwrap()
    }

    /// Runs `n` events at `now`, threading the TAT; returns how many were granted.
    fn burst(g: Gcra, tat: &mut Option<u64>, now: u64, n: usize) -> usize {
        (0..n)
            .filter(|_| match g.decide(*tat, now) {
                Ok(new) => {
                    *tat = Some(new);
                    true
                }
                Err(_) => false,
            })
            .count()
    }

    #[test]
    fn idle_key_grants_a_burst_of_count_then_refuses() {
        let g = gcra(5, 60);
        assert_eq!(g.interval, 12 * SEC);
        assert_eq!(g.period, 60 * SEC);
        let mut tat = None;
        assert_eq!(burst(g, &mut tat, 1000 * SEC, 100), 5);
        assert_eq!(tat, Some(1060 * SEC));
    }

    #[test]
    fn refusal_waits_for_one_interval_and_does_not_consume() {
        let g = gcra(5, 60);
        let now = 1000 * SEC;
        let mut tat = None;
        burst(g, &mut tat, now, 5);
        // The sixth event may pass once one interval has been paid back.
        assert_eq!(g.decide(tat, now), Err(12 * SEC));
        assert_eq!(g.decide(tat, now + 5 * SEC), Err(7 * SEC));
        // Refusals stored nothing: exactly at the wait, one passes, the next waits again.
        let at = now + 12 * SEC;
        assert_eq!(burst(g, &mut tat, at, 3), 1);
        assert_eq!(g.decide(tat, at), Err(12 * SEC));
    }

    #[test]
    fn credit_refills_evenly_and_never_beyond_the_burst() {
        let g = gcra(5, 60);
        let mut tat = None;
        burst(g, &mut tat, 0, 5);
        // 30 s later, 2.5 intervals are back: two events pass.
        assert_eq!(burst(g, &mut tat, 30 * SEC, 10), 2);
        // A key idle for an hour holds a burst of 5, not 300.
        assert_eq!(burst(g, &mut tat, 3600 * SEC, 100), 5);
    }

    #[test]
    fn zero_count_or_zero_period_does_not_limit() {
        assert_eq!(Gcra::new(Rate::new(0, Duration::from_secs(60))), None);
        assert_eq!(Gcra::new(Rate::new(5, Duration::ZERO)), None);
    }

    #[test]
    fn tiny_and_huge_rates_stay_in_range() {
        // More events than microseconds: the interval is clamped to 1 µs, the burst holds.
        let g = Gcra::new(Rate::new(10, Duration::from_micros(3))).unwrap();
        assert_eq!((g.interval, g.period), (1, 10));
        let mut tat = None;
        assert_eq!(burst(g, &mut tat, 5, 20), 10);
        // A period beyond a year is cut to a year.
        let year = u64::try_from(MAX_PERIOD.as_micros()).unwrap();
        let g = Gcra::new(Rate::new(1, Duration::MAX)).unwrap();
        assert_eq!((g.interval, g.period), (year, year));
        assert_eq!(g.decide(None, 7), Ok(7 + year));
        assert_eq!(g.decide(Some(7 + year), 7), Err(year));
        // A stored TAT at the end of time refuses instead of overflowing.
        assert_eq!(g.decide(Some(u64::MAX), 7), Err(u64::MAX - 7));
    }

    #[test]
    fn a_stored_tat_in_the_past_counts_as_idle() {
        let g = gcra(2, 10);
        assert_eq!(g.decide(Some(3), 100 * SEC), g.decide(None, 100 * SEC));
    }
}
