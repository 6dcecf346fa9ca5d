//! Several instances: one Redis for what is not in the cookie (feature `redis`).

use iampass::actix::{Iampass, TrustedProxies};
use iampass::core::store::Store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // IAMPASS_REDIS_URL=redis://:password@redis.internal:6379/0; memory when unset.
    let from_env = Store::from_env()?;
    // Or explicitly (nothing connects until the first request needs Redis):
    let store = Store::redis("redis://:password@redis.internal:6379/0")?
        .key_prefix("shop:")
        .timeout(std::time::Duration::from_millis(250))
        .build();
    let iampass = Iampass::builder("app-id", "app-secret")
        .cookie_key(&[7u8; 64]) // the same key on every instance
        .store(store)
        .trusted_proxies("10.0.0.0/8".parse::<TrustedProxies>()?)
        .build()?;
    println!("{:?} {}", from_env, iampass.login_path());
    Ok(())
}
