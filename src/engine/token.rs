//! Where uploads and yanks get their registry token. The engine asks a
//! [`TokenSource`] right before each request (an upload of a [`Prepared`]
//! crate, a yank of a [`YankTarget`]) and tells it when the registry said a
//! token expired; it knows nothing of how tokens are made (cargo's
//! credentials, or trusted publishing in `ops`). What the source reports
//! about token lifecycles becomes journal events, without the secret: both
//! loops ask through [`Recorder::token`] and [`Recorder::renewed_token`].

use crate::journal::{Event, JournalError, Projection, RenewReason, YankEvent, YankTarget};
use crate::secret::Secret;

use super::{Prepared, Recorder};

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

/// Gives the engine a token per request about `R` (an upload by default).
/// Called on the engine's thread only.
pub trait TokenSource<R: ?Sized = Prepared> {
    /// The token for the next request about `request`, renewed first if it
    /// is about to expire.
    fn token_for(&self, request: &R) -> Result<(Secret, Option<Lifecycle>), TokenUnavailable>;

    /// The registry answered `name`'s request made with `used` that the
    /// token expired: a fresh token now (unless another request renewed it
    /// already).
    fn renew(&self, name: &str, used: &Secret) -> Result<Option<Lifecycle>, TokenUnavailable>;

    /// The registry refused `name`'s credentials (or no token could be had
    /// for it): stop starting requests? A token made for the job that does
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

/// A yank's token asked of a function per request (cargo's credentials:
/// its providers are told the operation, crate and version), never renewed.
pub struct TokensFrom<F>(pub F);

impl<F> TokenSource<YankTarget> for TokensFrom<F>
where
    F: Fn(&YankTarget) -> anyhow::Result<Secret>,
{
    fn token_for(
        &self,
        target: &YankTarget,
    ) -> Result<(Secret, Option<Lifecycle>), TokenUnavailable> {
        (self.0)(target)
            .map(|token| (token, None))
            .map_err(|error| TokenUnavailable {
                message: format!("{error:#}"),
            })
    }

    fn renew(&self, _name: &str, _used: &Secret) -> Result<Option<Lifecycle>, TokenUnavailable> {
        Ok(None)
    }

    /// A 403 for one version (not an owner) fails that version only.
    fn on_refused(&self, _name: &str, _message: &str) -> bool {
        false
    }
}

/// A run's token events: the publish run's and the yank run's are the same
/// records in their own logs.
macro_rules! lifecycle_events {
    ($($event:ident),+) => {$(
        impl From<Lifecycle> for $event {
            fn from(lifecycle: Lifecycle) -> $event {
                match lifecycle {
                    Lifecycle::Minted { expires_at_ms } => $event::TokenMinted { expires_at_ms },
                    Lifecycle::Renewed {
                        expires_at_ms,
                        reason,
                    } => $event::TokenRenewed {
                        expires_at_ms,
                        reason,
                    },
                }
            }
        }
    )+};
}

lifecycle_events!(Event, YankEvent);

/// The token lifecycle, journaled as it happens (its expiry, never the secret).
impl<P: Projection> Recorder<'_, P>
where
    P::Event: From<Lifecycle>,
{
    fn lifecycle(&mut self, lifecycle: Option<Lifecycle>) -> Result<(), JournalError> {
        match lifecycle {
            Some(lifecycle) => self.record(lifecycle.into()),
            None => Ok(()),
        }
    }

    /// The token for the next request about `item`, from `tokens`; what
    /// happened to it journaled.
    pub(super) fn token<R: ?Sized>(
        &mut self,
        tokens: &dyn TokenSource<R>,
        item: &R,
    ) -> Result<Result<Secret, TokenUnavailable>, JournalError> {
        Ok(match tokens.token_for(item) {
            Ok((token, lifecycle)) => {
                self.lifecycle(lifecycle)?;
                Ok(token)
            }
            Err(error) => Err(error),
        })
    }

    /// `name`'s request about `item` was refused before it was looked at
    /// because its token `used` expired: a fresh token to send it again
    /// with, the renewal journaled; `None` when none can be had (the
    /// refusal stands).
    pub(super) fn renewed_token<R: ?Sized>(
        &mut self,
        tokens: &dyn TokenSource<R>,
        name: &str,
        used: &Secret,
        item: &R,
    ) -> Result<Option<Secret>, JournalError> {
        match tokens.renew(name, used) {
            Ok(lifecycle) => self.lifecycle(lifecycle)?,
            Err(_) => return Ok(None),
        }
        Ok(self.token(tokens, item)?.ok())
    }
}
