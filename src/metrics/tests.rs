//! The label values: few, and the documented ones.

use super::*;

#[test]
fn upstream_outcomes_are_few_and_local_errors_are_not_calls() {
    let http = |status| -> Result<(), Error> {
        Err(Error::Http {
            status,
            body: String::new(),
            retry_after: None,
        })
    };
    assert_eq!(upstream_outcome(&Ok::<(), Error>(())), Some("ok"));
    assert_eq!(upstream_outcome(&http(503)), Some("server_error"));
    assert_eq!(upstream_outcome(&http(429)), Some("server_error"));
    assert_eq!(upstream_outcome(&http(404)), Some("client_error"));
    assert_eq!(
        upstream_outcome(&Err::<(), _>(Error::Timeout(std::time::Duration::ZERO))),
        Some("timeout")
    );
    assert_eq!(
        upstream_outcome(&Err::<(), _>(Error::InvalidArgument("x".into()))),
        None
    );
}

/// The upstream metrics' keys are found by `call as usize * outcomes + outcome as usize`.
#[cfg(feature = "metrics")]
#[test]
fn every_outcome_sits_at_its_own_index() {
    for (index, outcome) in UpstreamOutcome::ALL.iter().enumerate() {
        assert_eq!(*outcome as usize, index, "{}", outcome.as_str());
    }
    for (index, call) in UPSTREAM_CALLS.iter().enumerate() {
        assert_eq!(*call as usize, index, "{}", call.as_str());
    }
}

#[test]
fn label_values_are_the_documented_ones() {
    let outcomes = [
        LoginOutcome::Started,
        LoginOutcome::Approved,
        LoginOutcome::Refused,
        LoginOutcome::TimedOut,
        LoginOutcome::Cancelled,
        LoginOutcome::RateLimited,
        LoginOutcome::Unavailable,
        LoginOutcome::NotStarted,
    ];
    let docs = include_str!("mod.rs");
    for (index, outcome) in outcomes.into_iter().enumerate() {
        assert_eq!(outcome as usize, index);
        assert!(docs.contains(&format!("`{}`", outcome.as_str())));
    }
    for verdict in [
        RequestVerdict::Active,
        RequestVerdict::Walkaway,
        RequestVerdict::Closed,
        RequestVerdict::Expired,
        RequestVerdict::Unavailable,
        RequestVerdict::Anonymous,
    ] {
        assert!(docs.contains(&format!("`{}`", verdict.as_str())));
    }
}
