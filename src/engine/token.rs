//! Where uploads and yanks get their registry token. The engine asks a
//! [`TokenSource`] right before each request (an upload of a [`Prepared`]
//! crate, a yank of a [`YankTarget`]) and tells it when the registry said a
//! token expired; it knows nothing of how tokens are made (cargo's
//! credentials, or trusted publishing in `ops`). What the source reports
//! about token lifecycles is a [`TokenEvent`] (minted or renewed, without
//! the secret) that both journals record as it is: both loops ask through
//! [`Recorder::token`] and [`Recorder::renewed_token`].

use crate::journal::{JournalError, Projection, TokenEvent, YankTarget};
use crate::secret::Secret;

use super::{Prepared, Recorder};

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
    fn token_for(&self, request: &R) -> Result<(Secret, Option<TokenEvent>), TokenUnavailable>;

    /// The registry answered `name`'s request made with `used` that the
    /// token expired: a fresh token now (unless another request renewed it
    /// already).
    fn renew(&self, name: &str, used: &Secret) -> Result<Option<TokenEvent>, TokenUnavailable>;

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
    ) -> Result<(Secret, Option<TokenEvent>), TokenUnavailable> {
        match &prepared.token {
            Some(token) => Ok((token.clone(), None)),
            None => Err(TokenUnavailable {
                message: format!("no token for `{}`", prepared.job.name),
            }),
        }
    }

    fn renew(&self, _name: &str, _used: &Secret) -> Result<Option<TokenEvent>, TokenUnavailable> {
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
    ) -> Result<(Secret, Option<TokenEvent>), TokenUnavailable> {
        (self.0)(target)
            .map(|token| (token, None))
            .map_err(|error| TokenUnavailable {
                message: format!("{error:#}"),
            })
    }

    fn renew(&self, _name: &str, _used: &Secret) -> Result<Option<TokenEvent>, TokenUnavailable> {
        Ok(None)
    }

    /// A 403 for one version (not an owner) fails that version only.
    fn on_refused(&self, _name: &str, _message: &str) -> bool {
        false
    }
}

/// The token lifecycle, journaled as it happens (its expiry, never the secret).
impl<P: Projection> Recorder<'_, P>
where
    P::Event: From<TokenEvent>,
{
    fn record_token(&mut self, event: Option<TokenEvent>) -> Result<(), JournalError> {
        match event {
            Some(event) => self.record(event.into()),
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
            Ok((token, event)) => {
                self.record_token(event)?;
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
            Ok(event) => self.record_token(event)?,
            Err(_) => return Ok(None),
        }
        Ok(self.token(tokens, item)?.ok())
    }
}
