//! Where the broker may push: the network policy for receivers' addresses.
//!
//! A directory entry names a push address, and the broker connects to it from inside the care
//! network. An address that reaches the broker's own host, the private network or a cloud metadata
//! service would turn the directory into a way to probe them (server-side request forgery). So push
//! addresses must be public: checked when the directory is imported (the address as written) and
//! again when connecting (every address a name resolves to, so a name that later resolves inward is
//! refused too). `delivery.allow_private_targets` (on-premises receivers, tests) and demo mode lift it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Which addresses pushes may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    allow_private: bool,
}

impl TargetPolicy {
    pub fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }

    /// Checks a push address as written: an `https` URL (plain `http` only to a private or loopback
    /// host, where the policy allows those), without user name or password, whose host, when it is an
    /// address or `localhost`, is allowed.
    pub fn check_url(&self, address: &str) -> Result<(), &'static str> {
        let url = url::Url::parse(address).map_err(|_| "the address is not a valid URL")?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err("a push address must not carry a user name or password");
        }
        let local = match url.host() {
            Some(url::Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => is_local_name(name),
            None => return Err("a push address needs a host"),
        };
        if local && !self.allow_private {
            return Err("a push address must not be a loopback, private, link-local or metadata address");
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if local => Ok(()),
            "http" => Err("a push address must use https (plain http only to a local receiver)"),
            _ => Err("a push address must be an https URL"),
        }
    }
}

/// A receiver's name resolved only to addresses the policy refuses (said when connecting).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "the receiver's name resolves only to loopback, private or link-local addresses, which the broker does not push to"
)]
pub struct RefusedTarget;

/// Names that always mean this host.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether `ip` is a public unicast address: not loopback, private, shared (CGNAT), link-local (where
/// cloud metadata services live), unspecified, broadcast, multicast, documentation or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // An IPv4 address written as IPv6 (mapped, or NAT64's well-known prefix) is judged as IPv4.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
    }
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inward_addresses_are_not_public() {
        for text in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
        ] {
            assert!(!is_public(text.parse().unwrap()), "{text}");
        }
        for text in ["145.97.1.1", "8.8.8.8", "2a00:1450:400e::1", "::ffff:145.97.1.1"] {
            assert!(is_public(text.parse().unwrap()), "{text}");
        }
    }

    #[test]
    fn push_addresses_are_public_https_without_credentials_unless_private_targets_are_allowed() {
        let strict = TargetPolicy::new(false);
        assert!(strict.check_url("https://ehr.zzl.example/fhir").is_ok());
        assert!(strict.check_url("https://145.97.1.1/fhir").is_ok());
        for refused in [
            "https://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:2375/",
            "https://10.0.0.1/fhir",
            "https://[::1]/fhir",
            "https://localhost/fhir",
            "https://api.localhost./fhir",
            "https://user:password@ehr.zzl.example/fhir",
            "https://user@ehr.zzl.example/fhir",
            "http://ehr.zzl.example/fhir",
            "ftp://ehr.zzl.example/fhir",
            "not a url",
        ] {
            assert!(strict.check_url(refused).is_err(), "{refused}");
        }
        let local = TargetPolicy::new(true);
        assert!(local.check_url("http://127.0.0.1:9000/fhir").is_ok());
        assert!(local.check_url("http://localhost:9000/fhir").is_ok());
        assert!(local.check_url("https://10.0.0.1/fhir").is_ok());
        assert!(local.check_url("http://ehr.zzl.example/fhir").is_err(), "plain http stays local only");
        assert!(local.check_url("https://user:pw@10.0.0.1/fhir").is_err(), "never credentials");
    }
}
