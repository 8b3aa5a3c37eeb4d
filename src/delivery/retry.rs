//! What a receiver's answer means for a delivery, and when to try again.
//!
//! The rules of DESIGN.md section 3: a 2xx is delivered; 408, 429, 5xx, timeouts and connection errors
//! are worth another try, later; any other answer is permanent. Retries back off exponentially with
//! jitter, so that many deliveries failing together do not come back together, and a `Retry-After`
//! from the receiver is honoured (never earlier than it asks).

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;

/// The meaning of one push attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again, not before `not_before` if the receiver said so. `reason` is for the ledger and log
    /// (a status code or an error kind, never content).
    Retry {
        not_before: Option<Duration>,
        reason: String,
    },
    Failed {
        reason: String,
    },
}

/// The verdict on an HTTP answer.
pub fn judge(status: StatusCode, headers: &HeaderMap) -> Verdict {
    let code = status.as_u16();
    if status.is_success() {
        return Verdict::Delivered;
    }
    if matches!(code, 408 | 429) || status.is_server_error() {
        return Verdict::Retry { not_before: retry_after(headers), reason: code.to_string() };
    }
    // Redirects are not followed (the broker delivers only to the registered address), so a 3xx is a
    // misconfigured endpoint: permanent, like any other 4xx.
    Verdict::Failed { reason: code.to_string() }
}

/// The verdict on a request that got no answer.
pub fn judge_error(error: &reqwest::Error) -> Verdict {
    // The resolver's refusal of an inward address, found in the error's causes, is said as it is.
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<crate::address::RefusedTarget>() {
            return Verdict::Retry { not_before: None, reason: refused.to_string() };
        }
        cause = e.source();
    }
    let reason = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_builder() {
        return Verdict::Failed { reason: "invalid endpoint address".into() };
    } else {
        "transport error"
    };
    Verdict::Retry { not_before: None, reason: reason.into() }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(SystemTime::now()).unwrap_or_default())
}

/// Exponential backoff with jitter.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

impl Backoff {
    /// The wait after the `attempts`-th failed attempt (1 = the first): `initial * 2^(attempts-1)`,
    /// capped at `max`, then a random point in its upper half ("equal jitter": never a thundering
    /// herd, never much shorter than the schedule). At least `not_before`, capped at `max`.
    pub fn delay(&self, attempts: u32, not_before: Option<Duration>) -> Duration {
        let exponent = attempts.saturating_sub(1).min(32);
        let base = self.initial.saturating_mul(1u32 << exponent.min(31)).min(self.max);
        let half = base / 2;
        let jittered = half + half.mul_f64(fastrand::f64());
        // A receiver asking for more than `max` is retried at `max`: the time to live keeps running.
        jittered.max(not_before.unwrap_or_default()).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn answers_are_delivered_retried_or_failed_as_the_design_says() {
        let none = headers(None);
        assert_eq!(judge(StatusCode::OK, &none), Verdict::Delivered);
        assert_eq!(judge(StatusCode::ACCEPTED, &none), Verdict::Delivered);
        for code in [408, 429, 500, 502, 503, 504] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(matches!(judge(status, &none), Verdict::Retry { .. }), "{code}");
        }
        for code in [301, 302, 400, 401, 403, 404, 409, 413, 415, 422] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(matches!(judge(status, &none), Verdict::Failed { .. }), "{code}");
        }
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        let verdict = judge(StatusCode::TOO_MANY_REQUESTS, &headers(Some("7")));
        assert_eq!(verdict, Verdict::Retry { not_before: Some(Duration::from_secs(7)), reason: "429".into() });
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let Verdict::Retry { not_before: Some(wait), .. } =
            judge(StatusCode::SERVICE_UNAVAILABLE, &headers(Some(&later)))
        else {
            panic!("expected a retry with a wait");
        };
        assert!(wait > Duration::from_secs(110) && wait <= Duration::from_secs(120), "{wait:?}");
        let garbage = judge(StatusCode::SERVICE_UNAVAILABLE, &headers(Some("soon")));
        assert_eq!(garbage, Verdict::Retry { not_before: None, reason: "503".into() });
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap_and_honours_retry_after() {
        let backoff = Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60) };
        for _ in 0..200 {
            let first = backoff.delay(1, None);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_secs(1), "{first:?}");
            let fourth = backoff.delay(4, None);
            assert!(fourth >= Duration::from_secs(4) && fourth <= Duration::from_secs(8), "{fourth:?}");
            let late = backoff.delay(40, None);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60), "{late:?}");
            assert!(backoff.delay(1, Some(Duration::from_secs(10))) >= Duration::from_secs(10));
            assert_eq!(backoff.delay(1, Some(Duration::from_secs(3600))), Duration::from_secs(60));
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| backoff.delay(3, None)).collect();
        assert!(spread.len() > 10, "jitter spreads retries");
    }
}
