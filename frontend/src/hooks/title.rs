//! The browser tab's title follows the page, so tabs and history entries say which.

use yew::prelude::*;

/// Sets the document's title to "`page` · NCompass" while the calling page shows.
#[hook]
pub fn use_title(page: String) {
    use_effect_with(page, |page| {
        if let Some(document) = web_sys::window().and_then(|window| window.document()) {
            document.set_title(&format!("{page} · NCompass"));
        }
    });
}
