//! cargo's own output (`Updating`, `Packaging`, `Compiling`, `Downloaded`,
//! its warnings, the compiler's diagnostics): the cargo library's shell
//! writes into a [`CargoOutput`] instead of stderr (see `workspace`), which
//! shows it by verbosity. Under `-v`, each line as it comes; otherwise the
//! text of one step (a packaging, a consumer build) is held and shown whole
//! only when it carries a warning or an error, so a default run shows the
//! tool's own lines. Where it is shown is the reporter's business
//! ([`set_printer`]): above a progress bar, never over it.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, OnceLock};

/// How much of cargo's output reaches the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// `-v`: all of it, line by line.
    Everything,
    /// A step's text when it holds a warning or an error.
    Diagnostics,
}

/// Where cargo's text is shown; `report` sets it once at start-up.
static PRINTER: OnceLock<fn(&str)> = OnceLock::new();

/// Route the text this module decides to show (whole lines, each ending in
/// a newline) to `print`. The first call wins.
pub fn set_printer(print: fn(&str)) {
    let _ = PRINTER.set(print);
}

fn show(text: &str) {
    match PRINTER.get() {
        Some(print) => print(text),
        // No reporter (the library used on its own): where cargo itself
        // would have written it.
        None => eprint!("{text}"),
    }
}

/// The capture shared by every cargo context of one command (the
/// workspace's, packaging's, a consumer build's).
#[derive(Clone)]
pub struct CargoOutput {
    inner: Arc<Mutex<Held>>,
}

struct Held {
    show: Show,
    text: Vec<u8>,
}

impl std::fmt::Debug for CargoOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CargoOutput").finish_non_exhaustive()
    }
}

impl CargoOutput {
    pub fn new(show: Show) -> Self {
        CargoOutput {
            inner: Arc::new(Mutex::new(Held {
                show,
                text: Vec::new(),
            })),
        }
    }

    /// What cargo's shell writes to.
    pub fn writer(&self) -> Box<dyn Write + Send + Sync> {
        Box::new(Capture(self.clone()))
    }

    /// A step of cargo's work ended: show what it said when it must be
    /// seen, and forget the rest.
    pub fn end_step(&self) {
        let (text, all) = {
            let mut held = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            (
                std::mem::take(&mut held.text),
                held.show == Show::Everything,
            )
        };
        if text.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&text);
        if all || holds_diagnostic(&text) {
            show(&terminated(&text));
        }
    }
}

impl CargoOutput {
    /// A step of cargo's work ended that repeated one already shown (a
    /// level packaged again crate by crate to name the one that failed):
    /// forget its text. Under `-v` it went out as it came.
    pub fn discard_step(&self) {
        let mut held = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        held.text.clear();
    }
}

/// cargo's shell writes whole messages; under `-v` each complete line goes
/// out at once, otherwise it waits for the end of the step.
struct Capture(CargoOutput);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let lines = {
            let mut held = self.0.inner.lock().unwrap_or_else(|e| e.into_inner());
            held.text.extend_from_slice(buf);
            match (held.show, held.text.iter().rposition(|b| *b == b'\n')) {
                (Show::Everything, Some(end)) => held.text.drain(..=end).collect::<Vec<u8>>(),
                _ => Vec::new(),
            }
        };
        if !lines.is_empty() {
            show(&String::from_utf8_lossy(&lines));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Whether cargo's text carries a warning or an error: a line of cargo's
/// own `warning:`/`error:`, or of the compiler's (`warning: unused …`,
/// `error[E0425]: …`). It decides only whether the text is shown.
fn holds_diagnostic(text: &str) -> bool {
    text.lines()
        .any(|line| line.starts_with("warning") || line.starts_with("error"))
}

fn terminated(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_shown_only_with_a_warning_or_an_error() {
        assert!(!holds_diagnostic(
            "    Updating `local` index\n   Packaging a v0.1.0\n   Compiling a v0.1.0\n"
        ));
        assert!(holds_diagnostic(
            "   Compiling a v0.1.0\nwarning: unused variable: `x`\n --> src/lib.rs:1:5\n"
        ));
        assert!(holds_diagnostic(
            "error[E0425]: cannot find value `y` in this scope\n"
        ));
        // A crate named `warning-x` in a status line is not a warning.
        assert!(!holds_diagnostic("   Compiling warning-x v0.1.0\n"));
    }

    /// What this test binary's printer was handed (only the test below
    /// writes through a `CargoOutput`).
    static SHOWN: Mutex<String> = Mutex::new(String::new());

    fn record(text: &str) {
        SHOWN.lock().unwrap().push_str(text);
    }

    fn shown() -> String {
        std::mem::take(&mut *SHOWN.lock().unwrap())
    }

    #[test]
    fn what_is_shown_follows_the_verbosity_and_the_step() {
        set_printer(record);
        let out = CargoOutput::new(Show::Diagnostics);
        let mut w = out.writer();
        // A quiet step: held, then dropped.
        w.write_all(b"    Updating `local` index\n").unwrap();
        assert_eq!(shown(), "");
        out.end_step();
        assert_eq!(shown(), "");
        // A step with a warning: all of it, at its end.
        w.write_all(b"   Compiling a v0.1.0\nwarning: unused variable: `x`\n")
            .unwrap();
        assert_eq!(shown(), "");
        out.end_step();
        assert_eq!(
            shown(),
            "   Compiling a v0.1.0\nwarning: unused variable: `x`\n"
        );
        // A step repeating one already shown, error and all: forgotten.
        w.write_all(b"error: failed to run custom build command\n")
            .unwrap();
        out.discard_step();
        out.end_step();
        assert_eq!(shown(), "");
        // `-v`: each whole line as it comes.
        let verbose = CargoOutput::new(Show::Everything);
        let mut w = verbose.writer();
        w.write_all(b"   Packaging b v0.1.0\n   Archiv").unwrap();
        assert_eq!(shown(), "   Packaging b v0.1.0\n");
        w.write_all(b"ing Cargo.toml\n").unwrap();
        assert_eq!(shown(), "   Archiving Cargo.toml\n");
    }
}
