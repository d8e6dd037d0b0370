//! `events.jsonl`: append-only, one record a line, synced before the action
//! it announces goes ahead. A torn last line (a crash mid-write) is cut off
//! and its bytes kept beside the file; anything else malformed is refused.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::event::{Event, FORMAT, Record};

/// What the log needs to know of the events it holds (publish runs and
/// yank runs keep separate journals of the same shape).
pub trait LogEvent: Serialize + DeserializeOwned + Clone {
    /// The `kind` every journal must start with, for messages.
    const OPENING_KIND: &'static str;
    /// `Some(format)` when this event opens a run, `None` otherwise.
    fn opening_format(&self) -> Option<u32>;
    /// The event that records a torn last line cut off when the log was opened.
    fn journal_repaired(torn: &TornLine) -> Self;
}

impl LogEvent for Event {
    const OPENING_KIND: &'static str = "run_started";
    fn opening_format(&self) -> Option<u32> {
        match self {
            Event::RunStarted { format, .. } => Some(*format),
            _ => None,
        }
    }
    fn journal_repaired(torn: &TornLine) -> Self {
        Event::JournalRepaired {
            dropped_bytes: torn.dropped_bytes,
            saved_to: torn.saved_as(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("could not read or write the journal `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{}` line {line} is not a cargo-shipper journal record ({reason}); \
         the file was changed by something else. Nothing was modified: move the state directory aside to start over",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error(
        "`{}` was written by a newer cargo-shipper (journal format {found}, this one reads up to {FORMAT}); upgrade cargo-shipper",
        path.display()
    )]
    NewerFormat { path: PathBuf, found: u32 },
    #[error(transparent)]
    Symlink(#[from] super::links::SymlinkRefused),
}

/// What opening the journal had to repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornLine {
    pub dropped_bytes: u64,
    pub saved_to: PathBuf,
}

impl TornLine {
    /// Where the dropped bytes were saved, by file name (as both journals
    /// record it: the directory is the state directory's).
    pub fn saved_as(&self) -> String {
        self.saved_to
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The journal, open for appending (or kept in memory for a dry run).
pub struct EventLog<E = Event> {
    path: PathBuf,
    file: Option<File>,
    /// The file does not exist yet: it is created by the first append, so
    /// a run that stops before its first event leaves nothing behind.
    create_on_append: bool,
    records: Vec<Record<E>>,
}

impl<E: LogEvent> EventLog<E> {
    /// A journal that lives only in memory (dry runs).
    pub fn in_memory() -> Self {
        EventLog {
            path: PathBuf::from("<memory>"),
            file: None,
            create_on_append: false,
            records: Vec::new(),
        }
    }

    /// Open (or create) the journal at `path`, checking every line.
    pub fn open(path: &Path) -> Result<(EventLog<E>, Option<TornLine>), JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        super::links::refuse_link(path)?;
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        let good_len = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let records = parse(path, &bytes[..good_len])?;
        let mut torn = None;
        if good_len < bytes.len() {
            let saved_to = path.with_extension(format!(
                "jsonl.torn-{}",
                records.last().map_or(0, |r| r.seq) + 1
            ));
            crate::atomic::write_atomic(&saved_to, &bytes[good_len..]).map_err(io)?;
            let file = super::links::no_follow(OpenOptions::new().write(true))
                .open(path)
                .map_err(io)?;
            file.set_len(good_len as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
            torn = Some(TornLine {
                dropped_bytes: (bytes.len() - good_len) as u64,
                saved_to,
            });
        }
        let file = if path.exists() {
            Some(open_append(path).map_err(io)?)
        } else {
            None
        };
        Ok((
            EventLog {
                path: path.to_owned(),
                create_on_append: file.is_none(),
                file,
                records,
            },
            torn,
        ))
    }

    /// Create the journal file (and its directory), durably.
    fn create(&mut self) -> Result<(), JournalError> {
        let path = self.path.clone();
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent()
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(io)?;
            // Make the new directory itself durable: a journal in a
            // directory that vanishes after a power cut is no journal.
            if let Some(parent) = dir.parent() {
                crate::atomic::sync_dir(parent).map_err(io)?;
            }
        }
        let file = open_append(&path).map_err(io)?;
        if let Some(dir) = path.parent() {
            // The new file's directory entry must be durable too.
            crate::atomic::sync_dir(dir).map_err(io)?;
        }
        self.file = Some(file);
        self.create_on_append = false;
        Ok(())
    }

    pub fn records(&self) -> &[Record<E>] {
        &self.records
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one event; on return it is on disk (written and synced).
    pub fn append(&mut self, event: E) -> Result<&Record<E>, JournalError> {
        if self.create_on_append {
            self.create()?;
        }
        let record = Record {
            seq: self.records.last().map_or(1, |r| r.seq + 1),
            at_ms: now_ms(),
            event,
        };
        if let Some(file) = &mut self.file {
            let mut line = serde_json::to_vec(&record).expect("records serialize");
            line.push(b'\n');
            crate::failpoint::hit("journal-mid-write", || {
                // Leave half a line behind, as a crash in the middle of a write would.
                let _ = file.write_all(&line[..line.len() / 2]);
                let _ = file.sync_data();
            });
            file.write_all(&line)
                .and_then(|()| file.sync_data())
                .map_err(|source| JournalError::Io {
                    path: self.path.clone(),
                    source,
                })?;
        }
        self.records.push(record);
        Ok(self.records.last().expect("just pushed"))
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    super::links::no_follow(OpenOptions::new().create(true).append(true)).open(path)
}

pub(super) fn parse<E: LogEvent>(
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<Record<E>>, JournalError> {
    let mut records: Vec<Record<E>> = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let corrupt = |reason: String| JournalError::Corrupt {
            path: path.to_owned(),
            line: i + 1,
            reason,
        };
        let record: Record<E> = serde_json::from_slice(line).map_err(|e| corrupt(e.to_string()))?;
        let expected = records.last().map_or(1, |r| r.seq + 1);
        if record.seq != expected {
            return Err(corrupt(format!(
                "sequence number {} where {expected} was expected",
                record.seq
            )));
        }
        let opening = record.event.opening_format();
        if records.is_empty() && opening.is_none() {
            return Err(corrupt(format!(
                "the first record is not `{}`",
                E::OPENING_KIND
            )));
        }
        if let Some(format) = opening
            && format > FORMAT
        {
            return Err(JournalError::NewerFormat {
                path: path.to_owned(),
                found: format,
            });
        }
        records.push(record);
    }
    Ok(records)
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
