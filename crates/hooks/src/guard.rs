//! The destination guard: which addresses webhooks and callbacks may be sent to.
//!
//! Link-local, cloud metadata, unspecified, broadcast, multicast and reserved addresses are
//! always refused; loopback and private ranges only with `allow_private`. A name is refused
//! if ANY address it resolves to is refused, so a name cannot smuggle one bad address in
//! among good ones. The check runs at registration and again on every attempt, and the
//! client connects through [`GuardedResolver`], which checks the very addresses it hands
//! to the connector: there is no gap between the check and the connection for a name to
//! change its answer in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

/// Why a destination is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("invalid URL '{url}': {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("destination '{host}' is refused: {address} is {what}")]
    Forbidden {
        host: String,
        address: String,
        what: &'static str,
    },
    #[error("destination '{host}' is refused: it names a cloud metadata service")]
    MetadataName { host: String },
    #[error(
        "destination '{host}' is refused: {address} is {what}; start mockloop with \
         --webhooks-allow-private to allow it"
    )]
    Private {
        host: String,
        address: String,
        what: &'static str,
    },
    #[error("cannot resolve '{host}': {cause}")]
    Resolve { host: String, cause: String },
}

/// What kind of address an IP is, for the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Public,
    /// Allowed only with `allow_private`; the text names the range.
    Private(&'static str),
    /// Never allowed; the text names the range.
    Forbidden(&'static str),
}

/// Host names of cloud metadata services, refused before any lookup.
const METADATA_NAMES: [&str; 6] = [
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
];

/// Classifies one address. IPv4-mapped and NAT64 IPv6 addresses are judged by the IPv4
/// address they carry.
pub fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let [a, b, c, d] = ip.octets();
    match (a, b, c, d) {
        (169, 254, 169, 254) | (100, 100, 100, 200) => Class::Forbidden("a cloud metadata address"),
        (0, ..) => Class::Forbidden("unspecified"),
        (169, 254, ..) => Class::Forbidden("link-local"),
        (255, 255, 255, 255) => Class::Forbidden("broadcast"),
        (224..=239, ..) => Class::Forbidden("multicast"),
        (240..=255, ..) => Class::Forbidden("reserved"),
        (127, ..) => Class::Private("loopback"),
        (10, ..) | (192, 168, ..) => Class::Private("a private address"),
        (172, 16..=31, ..) => Class::Private("a private address"),
        (100, 64..=127, ..) => Class::Private("shared address space (100.64.0.0/10)"),
        _ => Class::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return classify_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        return classify_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    if ip == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return Class::Forbidden("a cloud metadata address");
    }
    if ip.is_unspecified() {
        return Class::Forbidden("unspecified");
    }
    if ip.is_loopback() {
        return Class::Private("loopback");
    }
    match segments[0] {
        s if s & 0xffc0 == 0xfe80 => Class::Forbidden("link-local"),
        s if s & 0xff00 == 0xff00 => Class::Forbidden("multicast"),
        s if s & 0xfe00 == 0xfc00 => Class::Private("a unique local address"),
        _ => Class::Public,
    }
}

/// Checks one address of `host`.
pub fn check_ip(host: &str, ip: IpAddr, allow_private: bool) -> Result<(), GuardError> {
    match classify(ip) {
        Class::Public => Ok(()),
        Class::Private(_) if allow_private => Ok(()),
        Class::Private(what) => Err(GuardError::Private {
            host: host.to_owned(),
            address: ip.to_string(),
            what,
        }),
        Class::Forbidden(what) => Err(GuardError::Forbidden {
            host: host.to_owned(),
            address: ip.to_string(),
            what,
        }),
    }
}

/// Refuses names of metadata services, before anything is looked up.
pub fn check_name(host: &str) -> Result<(), GuardError> {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if METADATA_NAMES.contains(&name.as_str()) {
        return Err(GuardError::MetadataName {
            host: host.to_owned(),
        });
    }
    Ok(())
}

/// Parses a destination URL: http or https with a host, no credentials in it.
pub fn parse_url(text: &str) -> Result<Url, GuardError> {
    let invalid = |reason: &str| GuardError::InvalidUrl {
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(text).map_err(|err| invalid(&err.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host().is_none() {
        return Err(invalid("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials in the URL are not allowed; send them in a header",
        ));
    }
    Ok(url)
}

/// Checks `url`'s host without looking anything up: IP literals and metadata names are
/// judged here. Returns the host name still to be resolved, if it is one.
pub fn check_literal(url: &Url, allow_private: bool) -> Result<Option<String>, GuardError> {
    match url.host() {
        Some(Host::Ipv4(ip)) => {
            check_ip(&ip.to_string(), IpAddr::V4(ip), allow_private).map(|()| None)
        }
        Some(Host::Ipv6(ip)) => {
            check_ip(&ip.to_string(), IpAddr::V6(ip), allow_private).map(|()| None)
        }
        Some(Host::Domain(name)) => {
            check_name(name)?;
            Ok(Some(name.to_owned()))
        }
        None => Err(GuardError::InvalidUrl {
            url: url.to_string(),
            reason: "it has no host".to_owned(),
        }),
    }
}

/// Resolves `host` and checks every address it has.
pub async fn resolve_checked(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, GuardError> {
    check_name(host)?;
    let resolve_error = |cause: String| GuardError::Resolve {
        host: host.to_owned(),
        cause,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|err| resolve_error(err.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(resolve_error("no addresses".to_owned()));
    }
    for addr in &addrs {
        check_ip(host, addr.ip(), allow_private)?;
    }
    Ok(addrs)
}

/// The whole check of a destination: the URL's form, its literal host or name, and every
/// address the name resolves to.
pub async fn check_url(url: &Url, allow_private: bool) -> Result<(), GuardError> {
    if let Some(name) = check_literal(url, allow_private)? {
        let port = url.port_or_known_default().unwrap_or(80);
        resolve_checked(&name, port, allow_private).await?;
    }
    Ok(())
}

/// The delivery client's resolver: hands the connector only addresses that passed the
/// guard, so that what was checked is what is connected to.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_checked(&host, 0, allow_private)
                .await
                .map_err(|err| Box::new(err) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The resolver as the client builder takes it.
pub fn resolver(allow_private: bool) -> Arc<GuardedResolver> {
    Arc::new(GuardedResolver { allow_private })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> Class {
        classify(text.parse().unwrap())
    }

    #[test]
    fn metadata_link_local_and_special_addresses_are_always_forbidden() {
        for ip in [
            "169.254.169.254",
            "169.254.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "fe80::1",
            "febf::1",
            "fd00:ec2::254",
            "::",
            "ff02::1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(
                matches!(class(ip), Class::Forbidden(_)),
                "{ip}: {:?}",
                class(ip)
            );
        }
    }

    #[test]
    fn loopback_and_private_ranges_need_the_allow_setting() {
        for ip in [
            "127.0.0.1",
            "127.9.9.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(matches!(classify(ip), Class::Private(_)), "{ip}");
            assert!(check_ip("h", ip, true).is_ok());
            let err = check_ip("h", ip, false).unwrap_err();
            assert!(
                err.to_string().contains("--webhooks-allow-private"),
                "{err}"
            );
        }
    }

    #[test]
    fn public_addresses_pass_and_range_edges_are_exact() {
        for ip in [
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "169.253.255.255",
            "2001:db8::1",
            "fec0::1",
        ] {
            assert_eq!(class(ip), Class::Public, "{ip}");
        }
    }

    #[test]
    fn metadata_urls_are_refused_without_any_lookup() {
        let url = parse_url("http://169.254.169.254/latest/meta-data/").unwrap();
        let err = check_literal(&url, true).unwrap_err();
        assert_eq!(
            err.to_string(),
            "destination '169.254.169.254' is refused: 169.254.169.254 is a cloud metadata \
             address"
        );
        for name in [
            "metadata.google.internal",
            "METADATA.google.internal.",
            "metadata",
        ] {
            let url = parse_url(&format!("http://{name}/computeMetadata/v1/")).unwrap();
            assert!(
                matches!(
                    check_literal(&url, true),
                    Err(GuardError::MetadataName { .. })
                ),
                "{name}"
            );
        }
        let url = parse_url("http://[fe80::1]:8080/").unwrap();
        assert!(matches!(
            check_literal(&url, true),
            Err(GuardError::Forbidden { .. })
        ));
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        for bad in [
            "ftp://example.com/",
            "not a url",
            "http://user:pw@example.com/",
        ] {
            assert!(
                matches!(parse_url(bad), Err(GuardError::InvalidUrl { .. })),
                "{bad}"
            );
        }
        assert!(parse_url("https://example.com/hook").is_ok());
    }
}
