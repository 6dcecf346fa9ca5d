//! The shared-state store (`iampass::store`): the same behaviour on the memory backend and on
//! a real `redis-server` (feature `redis`; two `Store`s on one Redis stand for two instances),
//! then Redis failing: stopped, frozen, not yet started, restarted (`redis_failures`); and two
//! actix instances sharing one Redis (`instances`, with the actix app of `tests/common/`).

#[path = "../common/mod.rs"]
mod common;

mod behaviour;
#[cfg(feature = "redis")]
mod redis_failures;
#[cfg(feature = "redis")]
mod redis_server;

// Two actix instances sharing one Redis (feature `redis`), against the emulator.
#[cfg(all(feature = "redis", feature = "emulator"))]
mod instances;

/// Runs each shared behaviour on memory (two clones of one store) and on Redis (two stores,
/// one server per test).
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let store = iampass::core::store::Store::memory();
                    crate::behaviour::$name(store.clone(), store).await;
                }
            )*
        }

        #[cfg(feature = "redis")]
        mod redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(server) = crate::redis_server::RedisServer::start(stringify!($name))
                    else {
                        return;
                    };
                    let instance = || iampass::core::store::Store::redis(&server.url()).unwrap().build();
                    crate::behaviour::$name(instance(), instance()).await;
                }
            )*
        }
    };
}

on_every_backend!(
    limits_are_shared_and_refusals_say_when_to_retry,
    an_ipv6_address_counts_by_its_64,
    concurrent_takes_grant_exactly_the_burst,
    a_zero_rate_does_not_limit,
    a_revocation_is_seen_by_the_other_instance_within_1s,
    a_revocation_expires,
    claim_once_has_exactly_one_winner,
    status_cache_and_last_good_round_trip_and_expire,
);

#[test]
fn memory_is_the_default_and_from_env_without_a_url_is_memory() {
    assert_eq!(
        iampass::core::store::Store::default().backend_name(),
        "memory"
    );
    assert_eq!(
        format!("{:?}", iampass::core::store::Store::memory()),
        r#"Store { backend: "memory" }"#
    );
    // The variable is not set by the test runner (and .ci/run does not set it).
    if std::env::var_os(iampass::core::store::REDIS_URL_ENV).is_none() {
        let store = iampass::core::store::Store::from_env().unwrap();
        assert_eq!(store.backend_name(), "memory");
        assert_eq!(store.round_trips(), 0);
    }
}
