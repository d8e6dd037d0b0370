//! Whether two registry URLs name the same registry, decided by what they
//! are rather than how they are spelled: scheme, host (resolved to its
//! addresses: `localhost` is `127.0.0.1`), port (the scheme's default when
//! none is given) and path (repeated and trailing slashes do not count);
//! and, when both answer, by the `config.json` they serve (the same `api`
//! or `dl` is the same registry: uploads go to `api`). Only reads are sent.

use std::collections::BTreeSet;
use std::net::{IpAddr, ToSocketAddrs as _};

use crate::registry::{Http, IndexConfig, LiveRegistry};

/// A URL reduced to what identifies the place it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    scheme: String,
    /// Lower case, without the brackets of an IPv6 literal.
    host: String,
    port: u16,
    /// Starts and ends with `/`, no empty segments.
    path: String,
}

impl Place {
    /// `sparse+http://Host:80//index//` -> http, host, 80, `/index/`.
    /// `None` for what is not an absolute http(s) URL.
    pub fn parse(url: &str) -> Option<Place> {
        let url = url.trim();
        let url = url.strip_prefix("sparse+").unwrap_or(url);
        let uri: http::Uri = url.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let host = uri
            .host()?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
        let path = match segments.is_empty() {
            true => "/".to_owned(),
            false => format!("/{}/", segments.join("/")),
        };
        Some(Place {
            scheme,
            host,
            port: uri.port_u16().unwrap_or(default_port),
            path,
        })
    }

    /// The same scheme, port and path, on a host that is the same one by
    /// name or by address (a name that does not resolve counts by name only).
    pub fn same_as(&self, other: &Place) -> bool {
        if self.scheme != other.scheme || self.port != other.port || self.path != other.path {
            return false;
        }
        if self.host == other.host {
            return true;
        }
        let (ours, theirs) = (self.addresses(), other.addresses());
        !ours.is_disjoint(&theirs)
    }

    fn addresses(&self) -> BTreeSet<IpAddr> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return BTreeSet::from([ip]);
        }
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect())
            .unwrap_or_default()
    }
}

/// Whether the URLs name the same place (see [`Place::same_as`]); URLs
/// that do not parse are compared as written.
pub fn same_url(a: &str, b: &str) -> bool {
    match (Place::parse(a), Place::parse(b)) {
        (Some(a), Some(b)) => a.same_as(&b),
        _ => a == b,
    }
}

/// `api` and `dl` of a sparse index's `config.json`, when it answers.
pub fn served_urls(http: &Http, sparse_index: &str) -> Option<(String, String)> {
    match LiveRegistry::index_config(http, sparse_index, None).ok()? {
        IndexConfig::Read(config) => Some((config.api.clone(), config.dl().to_owned())),
        IndexConfig::AskAgainWithToken => None,
    }
}

/// Whether two `config.json`s (`api`, `dl`) describe the same registry.
pub fn same_served(a: &(String, String), b: &(String, String)) -> bool {
    same_url(&a.0, &b.0) || same_url(&a.1, &b.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_place_are_the_same() {
        let given = "sparse+http://127.0.0.1:4321/index/";
        for other in [
            "sparse+http://127.0.0.1:4321/index/",
            "sparse+http://127.0.0.1:4321/index//",
            "sparse+http://127.0.0.1:4321//index",
            "sparse+HTTP://127.0.0.1:4321/index/",
            "sparse+http://localhost:4321/index/",
            "sparse+http://LocalHost.:4321/index/",
        ] {
            assert!(same_url(given, other), "{other}");
        }
        assert!(same_url(
            "sparse+https://index.crates.io/",
            "sparse+https://index.crates.io:443/"
        ));
        assert!(same_url(
            "sparse+https://index.crates.io/",
            "sparse+https://INDEX.crates.io//"
        ));
        assert!(same_url("http://[::1]:80/", "http://[::1]/"));
    }

    #[test]
    fn other_places_are_other_registries() {
        let given = "sparse+http://127.0.0.1:4321/index/";
        for other in [
            "sparse+http://127.0.0.1:4322/index/",
            "sparse+http://127.0.0.1:4321/other/",
            "sparse+https://127.0.0.1:4321/index/",
            "sparse+http://127.0.0.2:4321/index/",
        ] {
            assert!(!same_url(given, other), "{other}");
        }
        assert!(!same_url(
            "sparse+https://index.crates.io/",
            "sparse+https://index.crates.io:8443/"
        ));
    }
}
