//! A page reached from a pager is shown from its table's top: the pager sits below the
//! table, so without this the next page would open scrolled to its last row.

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

/// The table's top (put `top` on an element just above it) and whether the pager asked
/// for the page being loaded.
#[derive(Clone)]
pub struct TableTop {
    pub top: NodeRef,
    asked: Rc<RefCell<bool>>,
}

impl TableTop {
    /// `action`, marked as the pager's: once its page is shown, the table's top is
    /// scrolled into view (when it is above the window).
    pub fn on_page<IN: 'static>(&self, action: Callback<IN>) -> Callback<IN> {
        let asked = Rc::clone(&self.asked);
        Callback::from(move |input: IN| {
            *asked.borrow_mut() = true;
            action.emit(input);
        })
    }
}

/// Scrolls to the table's top once `page` (what identifies the page, e.g. its cursor)
/// is `shown` (its rows are on the screen), when the pager asked for it; nothing
/// otherwise (a refresh, a filter or a reload keeps the reader's place).
#[hook]
pub fn use_table_top<T: PartialEq + Clone + 'static>(page: T, shown: bool) -> TableTop {
    let top = use_node_ref();
    let asked = use_mut_ref(|| false);
    {
        let top = top.clone();
        let asked = Rc::clone(&asked);
        use_effect_with((page, shown), move |(_, shown)| {
            if *shown && std::mem::take(&mut *asked.borrow_mut()) {
                if let Some(top) = top.cast::<web_sys::Element>() {
                    if top.get_bounding_client_rect().top() < 0.0 {
                        top.scroll_into_view();
                    }
                }
            }
        });
    }
    TableTop { top, asked }
}
