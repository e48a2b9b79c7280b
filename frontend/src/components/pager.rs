use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PagerProps {
    /// 1 for the newest page; `None` when the view was opened deep in the list.
    pub page_number: Option<usize>,
    /// On the newest page there is nothing newer to go to.
    pub at_newest: bool,
    pub has_next: bool,
    /// A page is loading: every button waits for it (a double click on "Older" would
    /// otherwise go from the page still shown, and count a page twice).
    pub busy: bool,
    pub on_newest: Callback<()>,
    pub on_previous: Callback<()>,
    pub on_next: Callback<()>,
}

/// Newest / newer / older page buttons around the API's cursor.
#[function_component]
pub fn Pager(props: &PagerProps) -> Html {
    let newest = props.on_newest.reform(|_: MouseEvent| ());
    let previous = props.on_previous.reform(|_: MouseEvent| ());
    let next = props.on_next.reform(|_: MouseEvent| ());
    html! {
        <nav class="pager" aria-label="Pages" aria-busy={props.busy.to_string()}>
            <button type="button" onclick={newest} disabled={props.at_newest || props.busy}>
                { "« Newest" }
            </button>
            <button type="button" data-testid="previous" onclick={previous} disabled={props.at_newest || props.busy}>
                { "‹ Newer" }
            </button>
            <span class="page-number" data-testid="page-number">
                { props.page_number.map(|n| format!("Page {n}")).unwrap_or_default() }
            </span>
            <button type="button" data-testid="next" onclick={next} disabled={!props.has_next || props.busy}>
                { "Older ›" }
            </button>
        </nav>
    }
}
