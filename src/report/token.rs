//! The lines for a minted token's life (minted, renewed, revoked): the one
//! [`TokenEvent`] both journals record, printed the same in a publish run's
//! output and a yank run's. Expiry times only: the
//! events carry no secret. The expiry is the one assumed from
//! `--token-lifetime` (a registry does not say it), and is worded so.

use super::publish::clock;
use crate::journal::{RenewReason, TokenEvent};

/// The human line: a status line, or a warning for a failed revocation.
pub(super) fn human_line(event: &TokenEvent) -> String {
    let status = |rest: String| format!("{:>12} {rest}", "Token");
    match event {
        TokenEvent::Minted { expires_at_ms } => status(format!(
            "minted by trusted publishing, assumed valid until {} (`--token-lifetime`)",
            clock(*expires_at_ms)
        )),
        TokenEvent::Renewed {
            expires_at_ms,
            reason,
        } => status(format!(
            "renewed ({}), assumed valid until {}",
            match reason {
                RenewReason::Expired => "the registry said it expired",
                _ => "before its expiry",
            },
            clock(*expires_at_ms)
        )),
        TokenEvent::Revoked {
            expires_at_ms,
            error: None,
        } => status(format!(
            "revoked (was assumed valid until {})",
            clock(*expires_at_ms)
        )),
        TokenEvent::Revoked {
            expires_at_ms,
            error: Some(error),
        } => format!(
            "warning: a minted token could not be revoked ({error}); it ends by itself with its \
             lifetime (assumed {})",
            clock(*expires_at_ms)
        ),
    }
}
