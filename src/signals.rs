//! Wake-ups between stages of one broker process: a committed message wakes the push dispatcher and
//! the long-polls of the organisation it is for. Other nodes' commits are found by polling, so a
//! missed signal costs latency, never a message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// Cheap to clone; one per process.
#[derive(Clone, Default)]
pub struct Signals {
    push: Arc<Notify>,
    mailboxes: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl Signals {
    /// The push dispatcher's wake-up.
    pub fn push(&self) -> Arc<Notify> {
        self.push.clone()
    }

    /// Something was committed for `org`: wake the dispatcher and `org`'s long-polls.
    pub fn arrived(&self, org: &str) {
        self.push.notify_one();
        if let Ok(mailboxes) = self.mailboxes.lock() {
            if let Some(notify) = mailboxes.get(org) {
                notify.notify_waiters();
            }
        }
    }

    /// The wake-up of `org`'s long-polls. Register interest (`Notified::enable`) before looking at
    /// the mailbox, so that an arrival between the look and the wait is not missed.
    pub fn mailbox(&self, org: &str) -> Arc<Notify> {
        match self.mailboxes.lock() {
            Ok(mut mailboxes) => mailboxes.entry(org.to_owned()).or_default().clone(),
            Err(_) => Arc::new(Notify::new()),
        }
    }
}
