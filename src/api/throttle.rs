//! The per-organisation rate limit: each authenticated organisation gets `limits.requests_per_second`
//! sustained and `limits.request_burst` at once (GCRA, the `governor` crate), so that one organisation's
//! runaway client cannot take the broker from the others. Beyond it: 429 with `Retry-After`.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Limits;
use crate::model::OrgId;

pub struct Throttle {
    limiter: DefaultKeyedRateLimiter<OrgId>,
    clock: DefaultClock,
}

impl Throttle {
    pub fn new(limits: &Limits) -> Self {
        // The configuration refuses zeros; 1 is only the fallback of a value that cannot be zero.
        let rate = NonZeroU32::new(limits.requests_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(limits.request_burst).unwrap_or(NonZeroU32::MIN);
        Self { limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)), clock: DefaultClock::default() }
    }

    /// `Ok` when `org` may make a request now, else how long until it may.
    pub fn check(&self, org: &OrgId) -> Result<(), Duration> {
        self.limiter.check_key(org).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}
