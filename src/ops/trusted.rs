//! Trusted publishing for a run: decide whether it is on, then give the
//! engine a [`TokenSource`] that exchanges an OIDC ID token for a registry
//! token at the first upload (after packaging and verification), renews it
//! a safety margin before its expiry or when the registry says it expired,
//! remembers every token it minted so that all are revoked at the end, and
//! keeps what a refusal needs to be fixed (the crate, the registry's words,
//! the ID token's non-secret claims).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use crate::engine::{Prepared, TokenSource, TokenUnavailable};
use crate::journal::{RenewReason, TokenEvent, YankTarget, now_ms};
use crate::registry::Http;
use crate::registry::trusted::{self as wire, Claims, OidcProvider, TrustedError};
use crate::secret::Secret;

/// The variable crates.io's documentation has GitLab jobs use for the ID token.
pub const GITLAB_ID_TOKEN_VAR: &str = wire::GITLAB_DEFAULT_VAR;

/// `--trusted-publishing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustedMode {
    On,
    #[default]
    Off,
    /// On when an OIDC provider is detected and no token is configured.
    Auto,
}

/// Trusted publishing and CI settings of a run.
#[derive(Debug, Clone)]
pub struct CiOpts {
    pub trusted: TrustedMode,
    /// GitLab CI: the variable holding the job's ID token.
    pub oidc_token_var: String,
    /// How long a minted token lives (crates.io: 30 minutes).
    pub token_lifetime: Duration,
    /// Start no upload after this long (`--stop-after`).
    pub stop_after: Option<Duration>,
}

impl Default for CiOpts {
    fn default() -> Self {
        CiOpts {
            trusted: TrustedMode::Off,
            oidc_token_var: wire::GITLAB_DEFAULT_VAR.to_owned(),
            token_lifetime: Duration::from_secs(30 * 60),
            stop_after: None,
        }
    }
}

/// Trusted publishing was asked for and cannot be used.
#[derive(Debug, thiserror::Error)]
#[error(
    "`--trusted-publishing on`, but no OIDC provider was found: in GitHub Actions give the job \
     `permissions: id-token: write`; in GitLab CI add an `id_tokens:` entry named `{var}` (or \
     name yours with `--oidc-token-var`)"
)]
pub struct NoProvider {
    pub var: String,
}

/// Trusted publishing could not authorize a crate: the registry refused
/// (its configuration must match the ID token's claims), or no token could
/// be had at all (the CI job's side: permissions, the provider).
#[derive(Debug)]
pub struct TrustRefused {
    pub krate: String,
    pub message: String,
    pub claims: Claims,
    pub by: RefusedBy,
}

/// Who stood in the way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusedBy {
    /// The registry refused the exchange, or a request with the minted token.
    Registry,
    /// No ID token, or no answer from the exchange: nothing says the
    /// registry's configuration is wrong.
    Unavailable,
    /// The registry refused a crate's first version: trusted publishing
    /// publishes new versions of existing crates only (crates.io's rule).
    FirstVersion,
}

impl std::fmt::Display for TrustRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let krate = &self.krate;
        match self.by {
            RefusedBy::Registry => write!(
                f,
                "trusted publishing could not authorize `{krate}`: {}\n\
                 the OIDC token's claims: {}\n\
                 the registry has no trusted-publishing configuration for `{krate}` that these \
                 claims match (none for this crate, or one for another repository, workflow file \
                 or environment): add or fix it there (crates.io: the crate's settings; \
                 `registry serve`: a `[[crate]]` entry); its configuration must match them and the \
                 audience must be the registry's; then run the same command again (its journal \
                 resumes the run)",
                self.message, self.claims
            ),
            RefusedBy::FirstVersion => write!(
                f,
                "trusted publishing could not authorize `{krate}`: {}\n\
                 the OIDC token's claims: {}\n\
                 `{krate}` is new to the registry, and trusted publishing (crates.io's, and a \
                 registry's that follows its rule) publishes new versions of existing crates \
                 only: publish its first version once with a token (`--trusted-publishing off`, \
                 the token from cargo's credentials) and add its trusted-publishing configuration \
                 there; then run the same command again (its journal resumes the run)",
                self.message, self.claims
            ),
            RefusedBy::Unavailable => write!(
                f,
                "trusted publishing could not get a token for `{krate}`: {}\n\
                 this is the CI job's side (the ID token's permissions, the provider or the \
                 registry out of reach), not the registry's configuration; fix it, then run the \
                 same command again (its journal resumes the run)",
                self.message
            ),
        }
    }
}

impl std::error::Error for TrustRefused {}

/// The provider to use, or `None` when trusted publishing is off (or
/// `auto` finds no provider, or a token is configured).
pub fn provider(
    opts: &CiOpts,
    token_configured: impl FnOnce() -> bool,
) -> Result<Option<OidcProvider>, NoProvider> {
    let detected = OidcProvider::detect(|k| std::env::var(k).ok(), &opts.oidc_token_var);
    match opts.trusted {
        TrustedMode::Off => Ok(None),
        TrustedMode::On => detected.map(Some).ok_or_else(|| NoProvider {
            var: opts.oidc_token_var.clone(),
        }),
        TrustedMode::Auto => Ok(detected.filter(|_| !token_configured())),
    }
}

struct Current {
    token: Secret,
    renew_at: Instant,
    expires_at_ms: u64,
}

#[derive(Default)]
struct Tokens {
    current: Option<Current>,
    /// Every minted token with its expiry, to revoke at the end.
    minted: Vec<(Secret, u64)>,
    claims: Option<Claims>,
    refusal: Option<TrustRefused>,
}

/// Tokens by trusted publishing, for one run (the engine's thread only).
pub struct TrustedTokens {
    provider: OidcProvider,
    /// The registry's client (cargo's `[http]` settings); the CI's token
    /// endpoint is asked through it too.
    http: Http,
    api: String,
    lifetime: Duration,
    state: RefCell<Tokens>,
}

impl TrustedTokens {
    pub fn new(provider: OidcProvider, http: &Http, api: &str, lifetime: Duration) -> Self {
        TrustedTokens {
            provider,
            http: http.clone(),
            api: api.to_owned(),
            lifetime,
            state: RefCell::new(Tokens::default()),
        }
    }

    /// Renewal starts this long before the expiry: a quarter of the
    /// lifetime, at most five minutes (an upload of 10 MiB fits in it).
    fn margin(&self) -> Duration {
        (self.lifetime / 4).min(Duration::from_secs(300))
    }

    /// A fresh ID token, exchanged; a provider or connection failure is
    /// tried again twice (a second apart, then two), a refusal is not. On
    /// failure, what to show is kept.
    fn mint(&self, krate: &str) -> Result<Current, TokenUnavailable> {
        let mut attempt = 0;
        let token = loop {
            attempt += 1;
            match self.exchange_once() {
                Ok(token) => break token,
                Err(error @ TrustedError::Refused { .. }) => {
                    return Err(self.refuse_with(krate, &error, RefusedBy::Registry));
                }
                // GitLab's one ID token cannot come back by waiting.
                Err(error) if attempt >= 3 || !self.provider.can_mint_again() => {
                    return Err(self.refuse_with(krate, &error, RefusedBy::Unavailable));
                }
                Err(_) => std::thread::sleep(Duration::from_secs(attempt)),
            }
        };
        let now = Instant::now();
        let lifetime_ms = u64::try_from(self.lifetime.as_millis()).unwrap_or(u64::MAX);
        let expires_at_ms = now_ms().saturating_add(lifetime_ms);
        self.state
            .borrow_mut()
            .minted
            .push((token.clone(), expires_at_ms));
        Ok(Current {
            token,
            // Far enough never to come: the registry's "expired" renews it.
            renew_at: now
                .checked_add(self.lifetime.saturating_sub(self.margin()))
                .unwrap_or(now + Duration::from_secs(100 * 365 * 86_400)),
            expires_at_ms,
        })
    }

    /// One ID token, exchanged.
    fn exchange_once(&self) -> Result<Secret, TrustedError> {
        let fresh = !self.state.borrow().minted.is_empty();
        let jwt = self
            .provider
            .id_token(&self.http, &wire::audience(&self.api), fresh)?;
        self.state.borrow_mut().claims = Some(Claims::of(&jwt));
        wire::exchange(&self.http, &self.api, &jwt)
    }

    fn refuse_with(&self, krate: &str, error: &TrustedError, by: RefusedBy) -> TokenUnavailable {
        self.refuse(krate, &error.to_string(), by);
        TokenUnavailable {
            message: error.to_string(),
        }
    }

    fn refuse(&self, krate: &str, message: &str, by: RefusedBy) {
        let mut state = self.state.borrow_mut();
        if state.refusal.is_none() {
            state.refusal = Some(TrustRefused {
                krate: krate.to_owned(),
                message: message.to_owned(),
                claims: state.claims.clone().unwrap_or_default(),
                by,
            });
        }
    }

    /// Why the run stopped for its credentials, if it did; `is_new` tells
    /// a crate new to the registry (whose first version the registry
    /// refuses to trusted publishing) from one it holds.
    pub fn take_refusal(&self, is_new: impl Fn(&str) -> bool) -> Option<TrustRefused> {
        let mut refusal = self.state.borrow_mut().refusal.take()?;
        if refusal.by == RefusedBy::Registry && is_new(&refusal.krate) {
            refusal.by = RefusedBy::FirstVersion;
        }
        Some(refusal)
    }

    /// Revoke every minted token: each one's expiry and the outcome.
    pub fn revoke_all(&self) -> Vec<(u64, Result<(), String>)> {
        let minted = std::mem::take(&mut self.state.borrow_mut().minted);
        self.state.borrow_mut().current = None;
        minted
            .into_iter()
            .map(|(token, expires_at_ms)| {
                (expires_at_ms, wire::revoke(&self.http, &self.api, &token))
            })
            .collect()
    }
}

impl TrustedTokens {
    /// The current token for a request about `krate`, minted or renewed
    /// first when there is none or it is within the margin of its expiry.
    fn token_for_crate(
        &self,
        krate: &str,
    ) -> Result<(Secret, Option<TokenEvent>), TokenUnavailable> {
        let lifecycle = {
            let state = self.state.borrow();
            match &state.current {
                None if state.minted.is_empty() => Some(false),
                None => Some(true),
                Some(c) if Instant::now() >= c.renew_at => Some(true),
                Some(_) => None,
            }
        };
        let lifecycle = match lifecycle {
            None => None,
            Some(renewal) => {
                let current = self.mint(krate)?;
                let expires_at_ms = current.expires_at_ms;
                self.state.borrow_mut().current = Some(current);
                Some(if renewal {
                    TokenEvent::Renewed {
                        expires_at_ms,
                        reason: RenewReason::Expiring,
                    }
                } else {
                    TokenEvent::Minted { expires_at_ms }
                })
            }
        };
        let token = self
            .state
            .borrow()
            .current
            .as_ref()
            .map(|c| c.token.clone())
            .expect("a current token");
        Ok((token, lifecycle))
    }

    /// A fresh token after the registry said `used` expired (unless it was
    /// replaced already, after that request left).
    fn renew_after_expired(
        &self,
        name: &str,
        used: &Secret,
    ) -> Result<Option<TokenEvent>, TokenUnavailable> {
        if self
            .state
            .borrow()
            .current
            .as_ref()
            .is_some_and(|c| c.token != *used)
        {
            return Ok(None);
        }
        let current = self.mint(name)?;
        let expires_at_ms = current.expires_at_ms;
        self.state.borrow_mut().current = Some(current);
        Ok(Some(TokenEvent::Renewed {
            expires_at_ms,
            reason: RenewReason::Expired,
        }))
    }
}

impl TokenSource for TrustedTokens {
    fn token_for(
        &self,
        prepared: &Prepared,
    ) -> Result<(Secret, Option<TokenEvent>), TokenUnavailable> {
        self.token_for_crate(&prepared.job.name)
    }

    fn renew(&self, name: &str, used: &Secret) -> Result<Option<TokenEvent>, TokenUnavailable> {
        self.renew_after_expired(name, used)
    }

    fn on_refused(&self, krate: &str, message: &str) -> bool {
        self.refuse(krate, message, RefusedBy::Registry);
        true
    }
}

/// Yanks: the same token as uploads (the registry scopes it to the crates
/// the job is trusted for).
impl TokenSource<YankTarget> for TrustedTokens {
    fn token_for(
        &self,
        target: &YankTarget,
    ) -> Result<(Secret, Option<TokenEvent>), TokenUnavailable> {
        self.token_for_crate(&target.name)
    }

    fn renew(&self, name: &str, used: &Secret) -> Result<Option<TokenEvent>, TokenUnavailable> {
        self.renew_after_expired(name, used)
    }

    fn on_refused(&self, krate: &str, message: &str) -> bool {
        self.refuse(krate, message, RefusedBy::Registry);
        true
    }
}
