//! Latest request wins: a page's effect starts a request for the filters, range or device
//! in force; when they change (or the page reloads them) before it answers, the earlier
//! request is aborted and whatever it still delivers is ignored, so an old answer never
//! overwrites a newer one nor ends the newer one's loading state.

use std::cell::Cell;
use std::rc::Rc;

use web_sys::{AbortController, AbortSignal};

/// One request's claim to update the page. Clones share it: the effect keeps one to
/// [`Latest::cancel`] in its clean-up, the request's task another to ask
/// [`Latest::is_current`] before it touches state.
#[derive(Clone)]
pub struct Latest {
    cancelled: Rc<Cell<bool>>,
    controller: Option<AbortController>,
}

impl Latest {
    pub fn new() -> Latest {
        Latest {
            cancelled: Rc::new(Cell::new(false)),
            controller: AbortController::new().ok(),
        }
    }

    /// The signal to pass to `fetch`, so that cancelling aborts the request itself.
    pub fn signal(&self) -> Option<AbortSignal> {
        self.controller.as_ref().map(AbortController::signal)
    }

    /// Whether this is still the request the page waits for.
    pub fn is_current(&self) -> bool {
        !self.cancelled.get()
    }

    /// A newer request replaces this one (or the page is gone): abort it.
    pub fn cancel(&self) {
        self.cancelled.set(true);
        if let Some(controller) = &self.controller {
            controller.abort();
        }
    }
}

impl Default for Latest {
    fn default() -> Self {
        Latest::new()
    }
}
