//! Talking to registries: reading sparse indexes (crates-index over curl)
//! and, later, the web API (crates-io). Failures come back typed so callers
//! can decide on them without reading message text.

pub(crate) mod http;
mod sparse;

pub use http::HttpError;
pub use sparse::{IndexError, IndexVersion, SparseIndexReader};
