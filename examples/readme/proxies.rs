//! Behind a reverse proxy: which proxies' headers name the client.

use iampass::actix::{ForwardedHeader, Iampass, TrustedProxies};

fn main() -> Result<(), iampass::Error> {
    let proxies: TrustedProxies = "127.0.0.1, ::1".parse()?;
    let iampass = Iampass::builder("app-id", "app-secret")
        .cookie_key(&[7u8; 64])
        .trusted_proxies(proxies.clone()) // nginx, Caddy, HAProxy forwardfor
        .build()?;
    let behind_rfc7239 = Iampass::builder("app-id", "app-secret")
        .cookie_key(&[7u8; 64])
        .trusted_proxies(proxies.with_header(ForwardedHeader::Forwarded)) // HAProxy `option forwarded`
        .build()?;
    println!("{} {}", iampass.login_path(), behind_rfc7239.login_path());
    Ok(())
}
