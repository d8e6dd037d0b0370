//! The token lifecycle events (minted, renewed, revoked), one type for both
//! journals: a publish run's [`super::Event::Token`] and a yank run's
//! [`super::YankEvent::Token`] embed it. On disk they stay what format 1
//! wrote, a flat line of their own kind (`token_minted`, `token_renewed`,
//! `token_revoked`) beside the run's other events: the enums read a line
//! of one of those kinds as a [`TokenEvent`] and everything else as their
//! own (see [`embed_token_events`]). Expiry times only: no event carries
//! the secret.

use serde::{Deserialize, Serialize};

/// What happened to a registry token minted by trusted publishing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum TokenEvent {
    /// A registry token was minted (an OIDC token exchanged) for the run's
    /// requests; the token itself is never recorded.
    #[serde(rename = "token_minted")]
    Minted { expires_at_ms: u64 },
    /// A fresh token replaced the current one.
    #[serde(rename = "token_renewed")]
    Renewed {
        expires_at_ms: u64,
        reason: RenewReason,
    },
    /// A minted token was revoked at the end of the run (`error`: the
    /// revocation failed; the token still ends at its expiry).
    #[serde(rename = "token_revoked")]
    Revoked {
        expires_at_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// Why a minted token was renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenewReason {
    /// Its expiry was within the safety margin.
    Expiring,
    /// The registry answered a request that it had expired.
    Expired,
    /// Written by a newer version of the tool.
    #[serde(other)]
    Other,
}

impl TokenEvent {
    /// The kinds on disk, as both journals name them.
    pub const KINDS: [&'static str; 3] = ["token_minted", "token_renewed", "token_revoked"];

    /// The event's `kind` on disk.
    pub fn kind(&self) -> &'static str {
        match self {
            TokenEvent::Minted { .. } => Self::KINDS[0],
            TokenEvent::Renewed { .. } => Self::KINDS[1],
            TokenEvent::Revoked { .. } => Self::KINDS[2],
        }
    }

    /// One line's event, read as a token event when its `kind` is one of
    /// [`Self::KINDS`], else handed to `rest` (the journal's own enum).
    pub(super) fn or_else<'de, D, E>(
        deserializer: D,
        wrap: fn(TokenEvent) -> E,
        rest: fn(serde_json::Value) -> Result<E, serde_json::Error>,
    ) -> Result<E, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        let value = serde_json::Value::deserialize(deserializer)?;
        let is_token = value
            .get("kind")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|kind| Self::KINDS.contains(&kind));
        let event = match is_token {
            true => TokenEvent::deserialize(value).map(wrap),
            false => rest(value),
        };
        event.map_err(serde::de::Error::custom)
    }
}

/// Serde for a journal's event enum that embeds [`TokenEvent`] as
/// `Token(TokenEvent)` (skipped by its derive, which is `remote = "Self"`):
/// a token event is written and read flat, as its own kind, the others
/// as the derive does; and `From<TokenEvent>`, for the engine's recorder.
macro_rules! embed_token_events {
    ($event:ident) => {
        impl serde::Serialize for $event {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $event::Token(token) => token.serialize(serializer),
                    other => $event::serialize(other, serializer),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $event {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::journal::TokenEvent::or_else(
                    deserializer,
                    $event::Token,
                    $event::deserialize,
                )
            }
        }

        impl From<$crate::journal::TokenEvent> for $event {
            fn from(token: $crate::journal::TokenEvent) -> $event {
                $event::Token(token)
            }
        }
    };
}

pub(super) use embed_token_events;

#[cfg(test)]
mod tests {
    use crate::journal::{Event, Record, YankEvent};

    /// Written and read back exactly as format 1 wrote them, in either journal.
    #[test]
    fn token_lines_are_format_1_in_both_journals() {
        let lines = [
            r#"{"seq":7,"at_ms":9,"kind":"token_minted","expires_at_ms":5}"#,
            r#"{"seq":7,"at_ms":9,"kind":"token_renewed","expires_at_ms":5,"reason":"expired"}"#,
            r#"{"seq":7,"at_ms":9,"kind":"token_revoked","expires_at_ms":5}"#,
            r#"{"seq":7,"at_ms":9,"kind":"token_revoked","expires_at_ms":5,"error":"HTTP 500"}"#,
        ];
        for line in lines {
            let publish: Record<Event> = serde_json::from_str(line).unwrap();
            let yank: Record<YankEvent> = serde_json::from_str(line).unwrap();
            let Event::Token(token) = &publish.event else {
                panic!("{line} read as {:?}", publish.event);
            };
            assert_eq!(yank.event, YankEvent::Token(token.clone()));
            assert_eq!(publish.event.kind(), yank.event.kind());
            assert_eq!(serde_json::to_string(&publish).unwrap(), line);
            assert_eq!(serde_json::to_string(&yank).unwrap(), line);
        }
    }

    /// A damaged token line is refused as the derive refuses one, and the
    /// other kinds (known or not) read as before.
    #[test]
    fn other_lines_read_as_their_own_kind() {
        let missing = r#"{"seq":1,"at_ms":1,"kind":"token_minted"}"#;
        let error = serde_json::from_str::<Record<Event>>(missing).unwrap_err();
        assert!(
            error.to_string().contains("missing field `expires_at_ms`"),
            "{error}"
        );
        let finished = r#"{"seq":1,"at_ms":1,"kind":"run_finished","outcome":"success"}"#;
        let record: Record<Event> = serde_json::from_str(finished).unwrap();
        assert_eq!(serde_json::to_string(&record).unwrap(), finished);
        let future = r#"{"seq":1,"at_ms":1,"kind":"token_teleported","x":1}"#;
        let record: Record<YankEvent> = serde_json::from_str(future).unwrap();
        assert_eq!(record.event, YankEvent::Unknown);
        let foreign = serde_json::from_str::<Record<Event>>(r#"{"hello":"world"}"#).unwrap_err();
        assert!(foreign.to_string().contains("missing field"), "{foreign}");
    }
}
