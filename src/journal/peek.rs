//! Reading a run's journal (publish or yank) without touching it: no
//! repair, no lock, no `state.json` rewrite, nothing created. For
//! `status`, which may run beside a release in progress (a half-written
//! last line is simply not read yet).

use std::fs::File;
use std::io::Read;

use super::{Event, JournalError, Projection, Record, RunState, StateDir};

/// The journal as it is on disk right now (a publish run's by default).
#[derive(Debug, Clone)]
pub struct Peek<P: Projection = RunState> {
    pub records: Vec<Record<P::Event>>,
    pub state: P,
}

/// The run in `current/`, if there is one with at least one record.
pub fn peek<P: Projection>(dir: &StateDir) -> Result<Option<Peek<P>>, JournalError> {
    peek_at(&dir.events())
}

/// The journal in the file `path`, read as [`peek`] does.
fn peek_at<P: Projection>(path: &std::path::Path) -> Result<Option<Peek<P>>, JournalError> {
    let path = path.to_owned();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(JournalError::Io { path, source }),
    };
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let records: Vec<Record<P::Event>> = super::log::parse(&path, &bytes[..complete])?;
    let state = records
        .iter()
        .fold(None, |state, record| Some(P::apply(state, record)));
    Ok(state.map(|state| Peek { records, state }))
}

/// The finished (archived) runs under `archive/`, oldest first, by the time
/// their directory's name begins with. A directory without a readable
/// journal is passed over: it is no run of ours.
pub fn archived<P: Projection>(dir: &StateDir) -> Result<Vec<Peek<P>>, JournalError> {
    let archive = dir.root().join("archive");
    let entries = match std::fs::read_dir(&archive) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(JournalError::Io {
                path: archive,
                source,
            });
        }
    };
    let mut runs: Vec<(u64, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let time = name.split('-').next()?.parse().ok()?;
            Some((time, name))
        })
        .collect();
    runs.sort();
    let mut peeks = Vec::new();
    for (_, name) in runs {
        if let Ok(Some(peek)) = peek_at::<P>(&archive.join(name).join("events.jsonl")) {
            peeks.push(peek);
        }
    }
    Ok(peeks)
}

/// Whether a cargo-shipper run holds the state directory's lock now. Asks
/// the kernel (a shared lock attempt, released at once); creates nothing.
pub fn run_active(dir: &StateDir) -> bool {
    let Ok(file) = File::open(dir.root().join("lock")) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(_) => true,
    }
}

/// Follows `events.jsonl` as a run appends to it: each call returns the
/// records completed since the last one.
pub struct Tail {
    dir: StateDir,
    /// Kept open once found: archiving renames `current/`, and the run's
    /// last records must still be read through it.
    file: Option<File>,
    pending: Vec<u8>,
}

impl Tail {
    pub fn new(dir: &StateDir) -> Self {
        Tail {
            dir: dir.clone(),
            file: None,
            pending: Vec::new(),
        }
    }

    /// New complete records (none when the file is gone, as after archiving).
    pub fn poll(&mut self) -> Result<Vec<Record>, JournalError> {
        let path = self.dir.events();
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        if self.file.is_none() {
            match File::open(&path) {
                Ok(file) => self.file = Some(file),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io(e)),
            }
        }
        let file = self.file.as_mut().expect("opened above");
        let mut fresh = Vec::new();
        file.read_to_end(&mut fresh).map_err(io)?;
        self.pending.extend(fresh);
        let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') else {
            return Ok(Vec::new());
        };
        let lines: Vec<u8> = self.pending.drain(..=end).collect();
        let mut records = Vec::new();
        for (i, line) in lines.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let record: Record =
                serde_json::from_slice(line).map_err(|e| JournalError::Corrupt {
                    path: path.clone(),
                    line: i + 1,
                    reason: e.to_string(),
                })?;
            records.push(record);
        }
        Ok(records)
    }
}

impl Record {
    /// Whether this record ends a run.
    pub fn ends_run(&self) -> bool {
        matches!(self.event, Event::RunFinished { .. })
    }
}
