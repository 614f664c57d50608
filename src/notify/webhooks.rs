//! Where a team's alert webhook may point, and how its deliveries are signed
//! (DESIGN §8, issue 10 item 5).
//!
//! The same [`WebhookPolicy`] answers at save time (the URL as typed) and at
//! send time (every address its host resolves to), so a name that resolves to
//! an internal address later (DNS rebinding) is still refused. Only hosts the
//! operator lists in `TOKENBOARD_WEBHOOK_ALLOW_HOSTS` may be internal.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::{Host, Url};

/// The header of a signed delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256>`
/// over `<t>.<body>` with the team's webhook secret.
pub const SIGNATURE_HEADER: &str = "Tokenboard-Signature";
/// The outbox id of the event: the same on every retry, for the receiver to deduplicate.
pub const EVENT_ID_HEADER: &str = "Tokenboard-Event-Id";

/// The operator's exceptions: host names and IP addresses that may be internal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookPolicy {
    allow_hosts: Vec<String>,
}

impl WebhookPolicy {
    /// From a comma-separated list (`TOKENBOARD_WEBHOOK_ALLOW_HOSTS`).
    pub fn from_list(list: &str) -> WebhookPolicy {
        let allow_hosts = list.split(',').map(normalise_host).filter(|h| !h.is_empty()).collect();
        WebhookPolicy { allow_hosts }
    }

    /// Whether the operator allowed this host (name or address) to be internal.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = normalise_host(host);
        self.allow_hosts.contains(&host)
    }

    /// Whether a delivery to `host` may go to `ip`.
    pub fn allows_address(&self, host: &str, ip: IpAddr) -> bool {
        !is_internal(ip) || self.allows_host(host) || self.allows_host(&ip.to_string())
    }

    /// Checks a URL as given: http or https, and a host that is not internal
    /// by its spelling (an internal address, `localhost`). The caller checks
    /// resolved addresses again when sending.
    pub fn check_url(&self, text: &str) -> Result<Url, String> {
        let url = Url::parse(text.trim()).map_err(|e| format!("webhook {:?} is not a URL: {e}", short(text)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("webhook {:?} must be an http:// or https:// URL", short(text)));
        }
        let refused = || {
            format!(
                "webhook {:?} points to an internal address (loopback, private, link-local …); \
                 the operator may allow it with TOKENBOARD_WEBHOOK_ALLOW_HOSTS",
                short(text)
            )
        };
        match url.host() {
            None => return Err(format!("webhook {:?} has no host", short(text))),
            Some(Host::Ipv4(ip)) if !self.allows_address(&ip.to_string(), ip.into()) => return Err(refused()),
            Some(Host::Ipv6(ip)) if !self.allows_address(&ip.to_string(), ip.into()) => return Err(refused()),
            Some(Host::Domain(name)) if is_local_name(name) && !self.allows_host(name) => return Err(refused()),
            Some(_) => {}
        }
        Ok(url)
    }
}

fn normalise_host(host: &str) -> String {
    host.trim().trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase()
}

/// At most 80 characters of a bad value in an error message.
fn short(text: &str) -> String {
    text.trim().chars().take(80).collect()
}

/// Names that resolve to this machine by definition (RFC 6761).
fn is_local_name(name: &str) -> bool {
    let name = normalise_host(name);
    name == "localhost" || name.ends_with(".localhost")
}

/// Loopback, private, link-local (cloud metadata 169.254.169.254), CGNAT,
/// multicast, unspecified, broadcast, documentation and other reserved
/// ranges, also when spelt as IPv4-mapped, -compatible or NAT64 IPv6.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18/15
        || a >= 240 // reserved
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    // ::ffff:a.b.c.d, ::a.b.c.d and 64:ff9b::a.b.c.d reach the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_internal_v4(v4);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return is_internal_v4(Ipv4Addr::new(a, b, c, d));
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local() // fc00::/7
        || ip.is_unicast_link_local() // fe80::/10
        || (segments[0] & 0xffc0) == 0xfec0 // deprecated site-local
        || (segments[0] == 0x2001 && segments[1] == 0xdb8) // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::a.b.c.d
}

/// The value of [`SIGNATURE_HEADER`] for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A new webhook secret: 32 random bytes, hex.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_in_every_spelling() {
        let policy = WebhookPolicy::default();
        for url in [
            "http://127.0.0.1/x",
            "http://127.1/x",
            "http://0x7f000001/x",
            "http://10.0.0.1/",
            "http://172.16.3.4/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://[::1]/",
            "http://[::]/",
            "http://[fc00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[64:ff9b::a00:1]/",
            "http://localhost:8080/",
            "http://api.localhost/",
        ] {
            let error = policy.check_url(url).unwrap_err();
            assert!(error.contains("internal address"), "{url}: {error}");
        }
        for url in ["https://hooks.example.com/t/1", "http://93.184.215.14/", "http://[2606:4700::1]/"] {
            assert!(policy.check_url(url).is_ok(), "{url}");
        }
        assert!(policy.check_url("ftp://hooks.example.com/").unwrap_err().contains("http"));
        assert!(policy.check_url("file:///etc/passwd").is_err());
    }

    #[test]
    fn the_operator_may_allow_internal_hosts() {
        let policy = WebhookPolicy::from_list(" 127.0.0.1, Hooks.Internal ,[::1]");
        assert!(policy.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(policy.check_url("http://[::1]/hook").is_ok());
        assert!(policy.allows_address("hooks.internal.", "10.1.2.3".parse().unwrap()));
        assert!(!policy.allows_address("other.example", "10.1.2.3".parse().unwrap()));
        assert!(policy.check_url("http://10.0.0.1/").is_err());
    }

    #[test]
    fn a_signature_is_hmac_sha256_over_timestamp_and_body() {
        // Computed independently: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        let header = signature("key", 1700000000, "{}");
        assert_eq!(header, "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
        assert_ne!(signature("key", 1700000001, "{}"), header, "the timestamp is signed");
    }
}
