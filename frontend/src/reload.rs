//! A counter bumped to reload a page's data: by a timer, a button, or after a change.
//! A reducer rather than a state, so a timer's closure bumps the current value instead
//! of the one it captured.

use std::rc::Rc;

use yew::Reducible;

#[derive(Clone, Copy, PartialEq, Default)]
pub struct Reload(u64);

impl Reducible for Reload {
    type Action = ();
    fn reduce(self: Rc<Self>, _: ()) -> Rc<Self> {
        Rc::new(Reload(self.0 + 1))
    }
}
