//! The pages' data loading, written once: a request per value of the page's inputs
//! (`deps`: filters, range, device, page), the latest wins (an older one is aborted and
//! whatever it still delivers is ignored, see [`Latest`]), and the answer is kept with
//! the inputs it answers, so a page never shows one view's data under another's heading.

use std::future::Future;
use std::rc::Rc;

use web_sys::AbortSignal;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::ApiError;
use crate::hooks::latest::Latest;
use crate::reload::Reload;

/// What a page shows of its data.
pub struct Fetched<D, T> {
    /// The latest answer, with the inputs it answers (compare them with the current
    /// ones before showing it).
    pub data: Option<Rc<(D, T)>>,
    /// The latest request failed (the last answer, if any, stays in `data`).
    pub error: Option<ApiError>,
    /// A request is under way.
    pub loading: bool,
    /// Asks again with the same inputs (a retry button, a timer).
    pub reload: Callback<()>,
}

impl<D: PartialEq, T> Fetched<D, T> {
    /// The answer to exactly `deps`, if it has arrived.
    pub fn answer_to(&self, deps: &D) -> Option<&T> {
        self.data
            .as_ref()
            .filter(|data| data.0 == *deps)
            .map(|data| &data.1)
    }
}

/// Loads `fetch(deps, signal)` whenever `deps` change or `reload` is called.
#[hook]
pub fn use_fetch<D, T, F, Fut>(deps: D, fetch: F) -> Fetched<D, T>
where
    D: PartialEq + Clone + 'static,
    T: 'static,
    F: Fn(D, Option<AbortSignal>) -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let data = use_state(|| None::<Rc<(D, T)>>);
    let error = use_state(|| None::<ApiError>);
    let loading = use_state(|| false);
    let reload = use_reducer(Reload::default);
    // The newest closure: it may capture values of this render.
    let fetch = Rc::new(fetch);
    let current = use_mut_ref(|| Rc::clone(&fetch));
    *current.borrow_mut() = fetch;
    {
        let (data, error, loading) = (data.clone(), error.clone(), loading.clone());
        use_effect_with((deps, *reload), move |(deps, _)| {
            let deps = deps.clone();
            let fetch = Rc::clone(&current.borrow());
            let latest = Latest::new();
            let task = latest.clone();
            loading.set(true);
            spawn_local(async move {
                let answer = fetch(deps.clone(), task.signal()).await;
                if !task.is_current() {
                    return;
                }
                match answer {
                    Ok(value) => {
                        data.set(Some(Rc::new((deps, value))));
                        error.set(None);
                    }
                    Err(problem) => error.set(Some(problem)),
                }
                loading.set(false);
            });
            move || latest.cancel()
        });
    }
    let dispatcher = reload.dispatcher();
    Fetched {
        data: (*data).clone(),
        error: (*error).clone(),
        loading: *loading,
        reload: Callback::from(move |()| dispatcher.dispatch(())),
    }
}
