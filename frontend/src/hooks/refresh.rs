//! Auto-refresh that rests while the tab is hidden: a background tab asks the server
//! nothing, and catches up at once when it is shown again.

use std::cell::Cell;
use std::rc::Rc;

use gloo_timers::callback::Interval;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

fn hidden() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .is_some_and(|document| document.hidden())
}

/// Calls `tick` every `period_ms` while `enabled` and the tab is visible; a tick missed
/// while hidden is made up as soon as the tab is shown.
#[hook]
pub fn use_auto_refresh(period_ms: u32, enabled: bool, tick: Callback<()>) {
    use_effect_with(enabled, move |enabled| {
        let running = enabled.then(|| {
            let missed = Rc::new(Cell::new(false));
            let interval = {
                let (missed, tick) = (Rc::clone(&missed), tick.clone());
                Interval::new(period_ms, move || {
                    if hidden() {
                        missed.set(true);
                    } else {
                        tick.emit(());
                    }
                })
            };
            let on_visibility = Closure::<dyn Fn()>::new(move || {
                if !hidden() && missed.replace(false) {
                    tick.emit(());
                }
            });
            let document = web_sys::window().and_then(|window| window.document());
            if let Some(document) = &document {
                let _ = document.add_event_listener_with_callback(
                    "visibilitychange",
                    on_visibility.as_ref().unchecked_ref(),
                );
            }
            (interval, on_visibility, document)
        });
        move || {
            if let Some((interval, on_visibility, document)) = running {
                if let Some(document) = document {
                    let _ = document.remove_event_listener_with_callback(
                        "visibilitychange",
                        on_visibility.as_ref().unchecked_ref(),
                    );
                }
                drop(interval);
            }
        }
    });
}
