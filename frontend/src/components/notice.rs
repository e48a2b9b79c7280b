use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ErrorNoticeProps {
    pub message: AttrValue,
    pub on_retry: Callback<()>,
}

/// A failed request: what happened, what to do, and a way to try again.
#[function_component]
pub fn ErrorNotice(props: &ErrorNoticeProps) -> Html {
    let on_retry = props.on_retry.reform(|_: MouseEvent| ());
    html! {
        <div class="notice error" role="alert" data-testid="error">
            <p>{ props.message.clone() }</p>
            <button type="button" onclick={on_retry}>{ "Try again" }</button>
        </div>
    }
}
