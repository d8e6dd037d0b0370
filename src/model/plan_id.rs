//! The plan id: a hash that binds a journal, a rehearsal and a yank plan to
//! exactly one release (target registry, ordered name@version list,
//! intra-plan dependency edges).

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// SHA-256 over a canonical text of the plan, as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanId(String);

impl PlanId {
    /// `crates` in publish order; `edges` as (dependent, dependency) pairs in any order.
    pub fn compute(registry_key: &str, crates: &[(&str, String)], edges: &[(&str, &str)]) -> Self {
        let mut edges: Vec<_> = edges.to_vec();
        edges.sort_unstable();
        edges.dedup();
        // A line-based text with one field kind per line: names and versions
        // cannot contain newlines or spaces, so the encoding is unambiguous.
        let mut text = String::from("cargo-shipper plan v1\n");
        text.push_str(&format!("registry {registry_key}\n"));
        for (name, version) in crates {
            text.push_str(&format!("crate {name}@{version}\n"));
        }
        for (from, to) in edges {
            text.push_str(&format!("edge {from} -> {to}\n"));
        }
        PlanId(hex::encode(Sha256::digest(text.as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for human output.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crates() -> Vec<(&'static str, String)> {
        vec![("a", "1.0.0".into()), ("b", "0.2.0".into())]
    }

    #[test]
    fn edge_order_does_not_matter() {
        let one = PlanId::compute("crates-io", &crates(), &[("b", "a"), ("c", "a")]);
        let two = PlanId::compute("crates-io", &crates(), &[("c", "a"), ("b", "a")]);
        assert_eq!(one, two);
        assert_eq!(one.as_str().len(), 64);
    }

    #[test]
    fn every_input_changes_the_id() {
        let base = PlanId::compute("crates-io", &crates(), &[("b", "a")]);
        let other_registry = PlanId::compute("sparse+http://x/", &crates(), &[("b", "a")]);
        let mut bumped = crates();
        bumped[1].1 = "0.2.1".into();
        let other_version = PlanId::compute("crates-io", &bumped, &[("b", "a")]);
        let no_edge = PlanId::compute("crates-io", &crates(), &[]);
        let mut reordered = crates();
        reordered.reverse();
        let other_order = PlanId::compute("crates-io", &reordered, &[("b", "a")]);
        for other in [other_registry, other_version, no_edge, other_order] {
            assert_ne!(base, other);
        }
    }
}
