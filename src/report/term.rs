//! stderr while a progress bar may be drawn: the one bar of the command
//! (when there is one), and every line printed beside it, the tool's and
//! cargo's, printed above the bar, never over it.

use std::sync::Mutex;

use indicatif::ProgressBar;

/// The bar on screen now, if any.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Send cargo's shown output ([`crate::cargo_output`]) through here.
pub fn install() {
    crate::cargo_output::set_printer(cargo_text);
}

/// The bar lines are printed above from now on (`None`: no bar).
pub fn set_bar(bar: Option<ProgressBar>) {
    *BAR.lock().unwrap_or_else(|e| e.into_inner()) = bar;
}

/// One line of the tool's (no newline at the end).
pub fn line(text: &str) {
    print(&format!("{text}\n"));
}

/// cargo's text, whole lines.
fn cargo_text(text: &str) {
    print(text);
}

fn print(text: &str) {
    use std::io::Write;
    let bar = BAR.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let write = || {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    };
    match bar {
        Some(bar) => bar.suspend(write),
        None => write(),
    }
}
