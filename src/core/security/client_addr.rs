//! The client's address behind reverse proxies, for the per-address login limit and the audit
//! log. The one header the proxy is configured to set ([`ForwardedHeader`]: `X-Forwarded-For`
//! by default, or `Forwarded`) is believed only when the TCP peer is a configured trusted
//! proxy; then the right-most address that is not itself a trusted proxy is the client (the
//! left part of the header is written by the client and can be anything). The other header is
//! never read: a proxy that sets one passes the other through as the client sent it.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use ipnet::IpNet;

use crate::core::request::RequestHead;

/// Which header the trusted proxies write the client's address into. Only that header is
/// read: the other one, if a client sends it, passes through a proxy unchanged and is the
/// client's own words.
///
/// ```
/// use iampass::core::{ForwardedHeader, TrustedProxies};
/// let proxies: TrustedProxies = "127.0.0.1".parse().unwrap();
/// assert_eq!(proxies.forwarded_header(), ForwardedHeader::XForwardedFor);
/// let proxies = proxies.with_header(ForwardedHeader::Forwarded);
/// assert_eq!(proxies.forwarded_header(), ForwardedHeader::Forwarded);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardedHeader {
    /// `X-Forwarded-For` (nginx `proxy_add_x_forwarded_for`, Caddy, HAProxy `option forwardfor`).
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239), for proxies configured to write it.
    Forwarded,
}

/// The reverse proxies whose forwarding header ([`ForwardedHeader`]: `X-Forwarded-For`, or
/// `Forwarded`) is believed.
///
/// Empty by default: the TCP peer is the client.
///
/// ```
/// use iampass::core::TrustedProxies;
/// let proxies: TrustedProxies = "10.0.0.0/8, 127.0.0.1".parse().unwrap();
/// assert!(proxies.contains("10.1.2.3".parse().unwrap()));
/// assert!(!proxies.contains("192.0.2.1".parse().unwrap()));
/// assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// No trusted proxy: the TCP peer is always the client.
    pub fn none() -> Self {
        TrustedProxies::default()
    }

    /// Proxies given as CIDR networks (`10.0.0.0/8`, `::1/128`) or single addresses.
    ///
    /// ```
    /// use iampass::core::TrustedProxies;
    /// let proxies = TrustedProxies::new(["172.16.0.0/12", "::1"]).unwrap();
    /// assert!(proxies.contains("::1".parse().unwrap()));
    /// ```
    pub fn new<I, S>(networks: I) -> Result<Self, crate::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let networks = networks
            .into_iter()
            .map(|n| parse_network(n.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TrustedProxies {
            networks,
            header: ForwardedHeader::default(),
        })
    }

    /// `true` when `address` is one of the trusted proxies.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.networks.iter().any(|n| n.contains(&address))
    }

    /// `true` when no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// Reads the client's address from `header` instead of `X-Forwarded-For` (the one the
    /// proxies are configured to set).
    pub fn with_header(mut self, header: ForwardedHeader) -> Self {
        self.header = header;
        self
    }

    /// The header the trusted proxies write the client's address into.
    pub fn forwarded_header(&self) -> ForwardedHeader {
        self.header
    }

    /// The client's address for `req`: its TCP peer, or behind a trusted proxy the address
    /// that proxy forwarded.
    ///
    /// With `127.0.0.1` trusted, a request from `127.0.0.1` with
    /// `X-Forwarded-For: 6.6.6.6, 203.0.113.7` is from `203.0.113.7` (the left part was
    /// written by the client); from an untrusted peer the header is ignored.
    pub fn client_ip(&self, req: &impl RequestHead) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.contains(peer) {
            return Some(peer);
        }
        // Hops, nearest last, from the one header the proxies write.
        let hops = match self.header {
            ForwardedHeader::XForwardedFor => x_forwarded_for_hops(req.headers("x-forwarded-for")),
            ForwardedHeader::Forwarded => forwarded_hops(req.headers("forwarded")),
        };
        let Some(hops) = hops else {
            return Some(peer);
        };
        for hop in hops.iter().rev() {
            match hop {
                Some(address) if self.contains(*address) => continue,
                Some(address) => return Some(*address),
                // An obfuscated or unparsable hop: nothing to its left can be trusted, and the
                // proxy that wrote it is the nearest address we know.
                None => return Some(peer),
            }
        }
        // Every hop is a trusted proxy: the left-most one is the best we have.
        hops.first().copied().flatten().or(Some(peer))
    }
}

impl FromStr for TrustedProxies {
    type Err = crate::Error;

    /// A comma- or space-separated list of CIDR networks or addresses (as in
    /// `IAMPASS_TRUSTED_PROXIES`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TrustedProxies::new(
            text.split([',', ' ', '\t', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty()),
        )
    }
}

fn parse_network(text: &str) -> Result<IpNet, crate::Error> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map(|n| match n {
            IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
                Some(v4) if v6.prefix_len() >= 96 => {
                    IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).unwrap_or(n)
                }
                _ => n,
            },
            n => n,
        })
        .map(|n| n.trunc())
        .map_err(|_| {
            crate::Error::Config(format!(
                "trusted proxy {text:?} is neither an IP address nor a CIDR network"
            ))
        })
}

/// The block of addresses one client holds, for per-address limits and caps: an IPv4
/// address as it is, an IPv6 address by its /64 (one host usually holds a whole /64), an
/// IPv4-mapped IPv6 address as its IPv4 address.
pub(crate) fn address_block(address: IpAddr) -> IpAddr {
    match canonical(address) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) compare as their IPv4 form.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// Header values are bounded so that a hostile header costs little.
const MAX_HOPS: usize = 32;

fn forwarded_hops<'a>(values: impl Iterator<Item = &'a str>) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    for value in values {
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim().trim_matches('"'))
            });
            hops.push(node.and_then(parse_node));
            if hops.len() > MAX_HOPS {
                hops.remove(0);
            }
        }
    }
    (!hops.is_empty()).then_some(hops)
}

fn x_forwarded_for_hops<'a>(values: impl Iterator<Item = &'a str>) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    for value in values {
        for node in value.split(',') {
            hops.push(parse_node(node.trim()));
            if hops.len() > MAX_HOPS {
                hops.remove(0);
            }
        }
    }
    (!hops.is_empty()).then_some(hops)
}

/// `192.0.2.1`, `192.0.2.1:8080`, `[2001:db8::1]`, `[2001:db8::1]:443`, `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    let (inner, _port) = node.strip_prefix('[')?.split_once(']')?;
    inner.parse::<IpAddr>().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::request::TestHead;

    fn headers(pairs: &[(&str, &str)]) -> TestHead {
        pairs
            .iter()
            .fold(TestHead::get("/"), |head, (name, value)| {
                head.header(name, value)
            })
    }

    fn from(peer: Option<SocketAddr>, head: &TestHead) -> TestHead {
        TestHead {
            peer,
            ..head.clone()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip(s), 40000))
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_the_headers_say() {
        let proxies = TrustedProxies::none();
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(
            proxies.client_ip(&from(peer("10.0.0.1"), &h)),
            Some(ip("10.0.0.1"))
        );
        assert_eq!(proxies.client_ip(&from(None, &h)), None);
    }

    #[test]
    fn right_most_untrusted_hop_is_the_client() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.2")]);
        assert_eq!(
            proxies.client_ip(&from(peer("10.0.0.1"), &h)),
            Some(ip("203.0.113.9"))
        );
        // Split over two header lines, same answer.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9, 10.0.0.2"),
        ]);
        assert_eq!(
            proxies.client_ip(&from(peer("10.0.0.1"), &h)),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn forwarded_header_forms() {
        let proxies = "127.0.0.1, ::1"
            .parse::<TrustedProxies>()
            .unwrap()
            .with_header(ForwardedHeader::Forwarded);
        for (value, client) in [
            ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            ("for=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=192.0.2.43, for=198.51.100.17", "198.51.100.17"),
            ("For=\"192.0.2.1:8080\"", "192.0.2.1"),
        ] {
            let h = headers(&[("forwarded", value)]);
            assert_eq!(
                proxies.client_ip(&from(peer("::1"), &h)),
                Some(ip(client)),
                "{value}"
            );
        }
        // Obfuscated identifiers stop the walk at the proxy.
        let h = headers(&[("forwarded", "for=_hidden, for=unknown")]);
        assert_eq!(
            proxies.client_ip(&from(peer("127.0.0.1"), &h)),
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn garbage_headers_fall_back_to_the_peer() {
        let proxies: TrustedProxies = "127.0.0.1".parse().unwrap();
        for value in ["", "not an address", "1.2.3.4.5", "[::1", "999.1.1.1"] {
            let h = headers(&[("x-forwarded-for", value)]);
            assert_eq!(
                proxies.client_ip(&from(peer("127.0.0.1"), &h)),
                Some(ip("127.0.0.1")),
                "{value:?}"
            );
        }
        let h = headers(&[]);
        assert_eq!(
            proxies.client_ip(&from(peer("127.0.0.1"), &h)),
            Some(ip("127.0.0.1"))
        );
    }

    #[test]
    fn all_hops_trusted_gives_the_left_most() {
        let proxies: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.2")]);
        assert_eq!(
            proxies.client_ip(&from(peer("10.0.0.1"), &h)),
            Some(ip("10.9.9.9"))
        );
    }

    #[test]
    fn mapped_addresses_and_parsing() {
        let proxies: TrustedProxies = "::ffff:10.0.0.0/104".parse().unwrap();
        assert!(proxies.contains(ip("10.2.3.4")));
        assert!(proxies.contains(ip("::ffff:10.2.3.4")));
        let h = headers(&[("x-forwarded-for", "::ffff:192.0.2.5")]);
        assert_eq!(
            proxies.client_ip(&from(peer("::ffff:10.0.0.1"), &h)),
            Some(ip("192.0.2.5"))
        );
        for bad in ["10.0.0.0/33", "example.com", "10.0.0", "::1/129"] {
            assert!(bad.parse::<TrustedProxies>().is_err(), "{bad}");
        }
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
    }

    #[test]
    fn a_very_long_header_is_bounded() {
        let proxies: TrustedProxies = "127.0.0.1".parse().unwrap();
        let long = format!("{}203.0.113.1", "1.1.1.1, ".repeat(10_000));
        let h = headers(&[("x-forwarded-for", &long)]);
        assert_eq!(
            proxies.client_ip(&from(peer("127.0.0.1"), &h)),
            Some(ip("203.0.113.1"))
        );
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        assert_eq!(
            address_block(ip("2001:db8:1:2:aaaa::1")),
            address_block(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            address_block(ip("2001:db8:1:2::1")),
            address_block(ip("2001:db8:1:3::1"))
        );
        assert_eq!(address_block(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(address_block(ip("192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn only_the_configured_header_is_read() {
        // nginx with `proxy_add_x_forwarded_for` passes a client's own `Forwarded` through:
        // it must not decide the address (it would spoof the per-address limit).
        let proxies: TrustedProxies = "127.0.0.1".parse().unwrap();
        let h = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(
            proxies.client_ip(&from(peer("127.0.0.1"), &h)),
            Some(ip("203.0.113.9"))
        );
        let only_forwarded = headers(&[("forwarded", "for=6.6.6.6")]);
        assert_eq!(
            proxies.client_ip(&from(peer("127.0.0.1"), &only_forwarded)),
            Some(ip("127.0.0.1"))
        );
        let rfc = proxies.with_header(ForwardedHeader::Forwarded);
        assert_eq!(
            rfc.client_ip(&from(peer("127.0.0.1"), &h)),
            Some(ip("6.6.6.6"))
        );
    }
}
