//! What the embedded registry is busy with: the connections it has open
//! (numbered as they are accepted) and the requests it is still handling.
//! The interruption drill asks it, after killing its child run, whether
//! everything that child sent has been answered or dropped: then no upload
//! of the dead process can still land, and the resumed run need not wait
//! out the upload timeout before settling one as absent.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Activity {
    next_connection: AtomicU64,
    open: Mutex<BTreeSet<u64>>,
    requests: AtomicUsize,
}

/// Held while a connection is open; closes it in the books when dropped.
pub struct Connection {
    activity: Arc<Activity>,
    number: u64,
}

/// Held while a request is handled (moved into the blocking handler, so a
/// client that hangs up does not end it early).
pub struct Handling(Arc<Activity>);

impl Activity {
    pub fn connection(self: &Arc<Self>) -> Connection {
        let number = self.next_connection.fetch_add(1, Ordering::SeqCst);
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(number);
        Connection {
            activity: self.clone(),
            number,
        }
    }

    pub fn request(self: &Arc<Self>) -> Handling {
        self.requests.fetch_add(1, Ordering::SeqCst);
        Handling(self.clone())
    }

    /// The number the next accepted connection will get.
    pub fn mark(&self) -> u64 {
        self.next_connection.load(Ordering::SeqCst)
    }

    /// No connection accepted at or after `mark` is open and no request is
    /// being handled.
    fn idle_since(&self, mark: u64) -> bool {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.range(mark..).next().is_none() && self.requests.load(Ordering::SeqCst) == 0
    }

    /// Wait until [`Self::idle_since`] `mark` holds and stays so for
    /// `quiet` with no new connection (one the kernel had queued when its
    /// client died is accepted within that time); false after `timeout`.
    pub fn wait_drained(&self, mark: u64, quiet: Duration, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.idle_since(mark) {
                let accepted = self.mark();
                std::thread::sleep(quiet);
                if self.mark() == accepted && self.idle_since(mark) {
                    return true;
                }
            } else {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        false
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let mut open = self.activity.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&self.number);
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.requests.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drained_once_every_later_connection_and_request_is_done() {
        let activity = Arc::new(Activity::default());
        let before = activity.connection(); // the parent's own keep-alive
        let mark = activity.mark();
        let child = activity.connection();
        let request = activity.request();
        let quick = Duration::from_millis(1);
        assert!(!activity.wait_drained(mark, quick, Duration::from_millis(20)));
        drop(child);
        assert!(!activity.wait_drained(mark, quick, Duration::from_millis(20)));
        drop(request);
        // The connection from before the mark does not count.
        assert!(activity.wait_drained(mark, quick, Duration::from_millis(20)));
        drop(before);
    }
}
