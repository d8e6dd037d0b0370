//! Read-only pass-through to an upstream sparse registry (crates.io by
//! default, for rehearsals): index files and downloads of crates this
//! registry does not hold. Blocking; called from a blocking task.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use crate::registry::http;

pub struct Upstream {
    /// Index root, without the `sparse+` prefix, ending in `/`.
    index: String,
    dl: OnceLock<String>,
    /// Names (lowercase) never passed through: served only from this
    /// registry (a rehearsal's own crates, so a hermetic workspace needs no
    /// network and upstream never shadows what is rehearsed).
    local_only: BTreeSet<String>,
}

impl Upstream {
    pub fn new(index_url: &str) -> Self {
        let mut index = index_url.trim_start_matches("sparse+").to_owned();
        if !index.ends_with('/') {
            index.push('/');
        }
        Upstream {
            index,
            dl: OnceLock::new(),
            local_only: BTreeSet::new(),
        }
    }

    pub fn with_local_only(mut self, names: &[String]) -> Self {
        self.local_only = names.iter().map(|n| n.to_lowercase()).collect();
        self
    }

    fn passes_through(&self, name: &str) -> bool {
        !self.local_only.contains(&name.to_lowercase())
    }

    /// The upstream index file at `rel`, if it has one.
    pub fn index_file(&self, rel: &str) -> Option<Vec<u8>> {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if !self.passes_through(name) {
            return None;
        }
        let response = http::get(&format!("{}{rel}", self.index), Duration::from_secs(30)).ok()?;
        (response.status == 200).then_some(response.body)
    }

    /// The upstream `.crate` for `name@version`.
    pub fn download(&self, name: &str, version: &str) -> Option<Vec<u8>> {
        if !self.passes_through(name) {
            return None;
        }
        let dl = self.dl()?;
        let url = if dl.contains("{crate}") || dl.contains("{version}") {
            dl.replace("{crate}", name).replace("{version}", version)
        } else {
            format!("{}/{name}/{version}/download", dl.trim_end_matches('/'))
        };
        let response = http::get(&url, Duration::from_secs(60)).ok()?;
        (response.status == 200).then_some(response.body)
    }

    fn dl(&self) -> Option<&str> {
        if self.dl.get().is_none() {
            let response = http::get(
                &format!("{}config.json", self.index),
                Duration::from_secs(30),
            )
            .ok()?;
            let config: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
            let _ = self.dl.set(config["dl"].as_str()?.to_owned());
        }
        self.dl.get().map(String::as_str)
    }
}
