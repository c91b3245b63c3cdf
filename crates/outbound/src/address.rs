//! Which addresses an outbound delivery may reach: public ones always; private or loopback ones
//! only when the allowlist names them, and loopback for the sandbox tenant.

use std::net::IpAddr;

/// Settings of outbound delivery.
#[derive(Clone, Debug, Default)]
pub struct DeliveryConfig {
    /// Hosts or IP addresses webhooks may reach even when they are private or loopback.
    pub allowlist: Vec<String>,
}

/// Whether an address may be called: public ones always; private or loopback ones only when
/// the allowlist names them, and loopback for the sandbox tenant.
pub fn address_allowed(ip: IpAddr, host: &str, sandbox: bool, config: &DeliveryConfig) -> bool {
    if config.allowlist.iter().any(|a| a == host || a.parse::<IpAddr>().is_ok_and(|a| a == ip)) {
        return true;
    }
    if ip.is_loopback() {
        return sandbox;
    }
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_unless_allowed() {
        let none = DeliveryConfig::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(address_allowed(ip("93.184.216.34"), "example.com", false, &none));
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "0.0.0.0",
        ] {
            assert!(!address_allowed(ip(private), "h", false, &none), "{private}");
        }
        assert!(address_allowed(ip("127.0.0.1"), "localhost", true, &none), "the sandbox may call loopback");
        assert!(!address_allowed(ip("10.0.0.5"), "intranet", true, &none), "but not other private networks");
        let allow = DeliveryConfig { allowlist: vec!["intranet".into()] };
        assert!(address_allowed(ip("10.0.0.5"), "intranet", false, &allow));
    }
}
