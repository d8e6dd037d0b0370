//! Where uploads get their registry token. The engine asks a
//! [`TokenSource`] right before each upload and tells it when the registry
//! said a token expired; it knows nothing of how tokens are made (cargo's
//! credentials, or trusted publishing in `ops`). What the source reports
//! about token lifecycles becomes journal events, without the secret.

use crate::journal::RenewReason;
use crate::secret::Secret;

use super::Prepared;

/// What happened to the current token while getting one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// The first token of the run was minted.
    Minted { expires_at_ms: u64 },
    /// A fresh token replaced the current one.
    Renewed {
        expires_at_ms: u64,
        reason: RenewReason,
    },
}

/// No token can be had for a crate: the error says why (no secret in it).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TokenUnavailable {
    pub message: String,
}

/// Gives the engine a token per upload. Called on the engine's thread only.
pub trait TokenSource {
    /// The token for the next upload of `prepared`, renewed first if it is
    /// about to expire.
    fn token_for(
        &self,
        prepared: &Prepared,
    ) -> Result<(Secret, Option<Lifecycle>), TokenUnavailable>;

    /// The registry answered `name`'s upload made with `used` that the
    /// token expired: a fresh token now (unless another upload renewed it
    /// already).
    fn renew(&self, name: &str, used: &Secret) -> Result<Option<Lifecycle>, TokenUnavailable>;

    /// The registry refused `name`'s credentials (or no token could be had
    /// for it): stop starting uploads? A token made for the job that does
    /// not cover a crate means the configuration must be fixed first.
    fn on_refused(&self, name: &str, message: &str) -> bool;
}

/// The token packaged with each crate (cargo's credentials).
pub struct PreparedTokens;

impl TokenSource for PreparedTokens {
    fn token_for(
        &self,
        prepared: &Prepared,
    ) -> Result<(Secret, Option<Lifecycle>), TokenUnavailable> {
        match &prepared.token {
            Some(token) => Ok((token.clone(), None)),
            None => Err(TokenUnavailable {
                message: format!("no token for `{}`", prepared.job.name),
            }),
        }
    }

    fn renew(&self, _name: &str, _used: &Secret) -> Result<Option<Lifecycle>, TokenUnavailable> {
        Ok(None)
    }

    /// A cargo token refused for one crate (not an owner, say) blocks
    /// that crate and its dependents only.
    fn on_refused(&self, _name: &str, _message: &str) -> bool {
        false
    }
}
