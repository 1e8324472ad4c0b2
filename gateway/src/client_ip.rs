//! Who the client is when the gateway sits behind proxies (an Ingress controller, a load
//! balancer). The socket peer is the client unless it is one of `GATEWAY_TRUSTED_PROXIES`;
//! then the client is the right-most `X-Forwarded-For` address that is not itself a trusted
//! proxy. Addresses left of it were written by the client and are never believed — otherwise
//! anyone could pick their own rate-limit bucket.

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    str::FromStr,
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRef, FromRequestParts},
    http::{HeaderMap, request::Parts},
};

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                prefix_matches(network.to_bits().into(), ip.to_bits().into(), self.prefix, 32)
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => prefix_matches(network.to_bits(), ip.to_bits(), self.prefix, 128),
            _ => false,
        }
    }
}

fn prefix_matches(network: u128, ip: u128, prefix: u8, width: u8) -> bool {
    let host_bits = u32::from(width - prefix);
    network.checked_shr(host_bits).unwrap_or(0) == ip.checked_shr(host_bits).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || format!("`{s}` is not an address or a network like 10.0.0.0/8");
        let (address, prefix) = s.trim().split_once('/').map_or((s.trim(), None), |(a, p)| (a, Some(p)));
        let network = IpAddr::from_str(address).map_err(|_| invalid())?.to_canonical();
        let width = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.parse().ok().filter(|p| *p <= width).ok_or_else(invalid)?,
            None => width,
        };
        Ok(Self { network, prefix })
    }
}

/// The proxies whose `X-Forwarded-For` is believed: comma-separated addresses or networks,
/// none when empty.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|cidr| cidr.contains(ip))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// The client's address, resolved through the trusted proxies of the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    Arc<TrustedProxies>: FromRef<S>,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
            .expect("the gateway is served with connect info");
        let trusted = Arc::<TrustedProxies>::from_ref(state);
        Ok(Self(resolve(peer, &parts.headers, &trusted)))
    }
}

/// The client behind `peer`, given the `X-Forwarded-For` headers and the trusted proxies.
fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted.contains(client) {
        return client;
    }
    // Several headers count as one list, in order.
    let hops = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or_default().split(','))
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        // A hop that is not an address cannot be vouched for: the last good one is the client.
        let Ok(ip) = IpAddr::from_str(hop.trim()) else {
            break;
        };
        client = ip.to_canonical();
        if !trusted.contains(client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded_for(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let private: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(private.contains(ip("10.1.2.3")));
        assert!(
            private.contains(ip("::ffff:10.1.2.3")),
            "IPv4-mapped IPv6 is the IPv4 address"
        );
        assert!(!private.contains(ip("11.0.0.1")));
        assert!(!private.contains(ip("fd00::1")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let everything: Cidr = "::/0".parse().unwrap();
        assert!(everything.contains(ip("2001:db8::1")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
    }

    #[test]
    fn malformed_networks_are_refused() {
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/x", "proxy"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        assert!("10.0.0.0/8,proxy".parse::<TrustedProxies>().is_err());
        assert!(" 10.0.0.0/8 , fd00::/8 ".parse::<TrustedProxies>().is_ok());
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop_behind_a_trusted_peer() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let peer = ip("10.0.0.5");
        let resolve = |values: &[&str]| resolve(peer, &forwarded_for(values), &trusted);
        assert_eq!(resolve(&["203.0.113.9"]), ip("203.0.113.9"));
        // The left-most entry is whatever the client claimed.
        assert_eq!(resolve(&["1.1.1.1, 203.0.113.9, 10.0.0.4"]), ip("203.0.113.9"));
        assert_eq!(resolve(&["1.1.1.1", "203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(resolve(&["garbage, 10.0.0.3"]), ip("10.0.0.3"));
        assert_eq!(resolve(&[]), peer);
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let headers = forwarded_for(&["203.0.113.9"]);
        assert_eq!(resolve(ip("198.51.100.1"), &headers, &trusted), ip("198.51.100.1"));
        let none: TrustedProxies = "".parse().unwrap();
        assert_eq!(resolve(ip("10.0.0.5"), &headers, &none), ip("10.0.0.5"));
    }
}
