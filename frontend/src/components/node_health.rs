use api_types::Node;
use yew::prelude::*;

use crate::format;

/// An access point posting every 30 or 60 s is late past this many seconds.
const LATE_AFTER_SECS: i64 = 120;
/// ... and silent past this many.
const SILENT_AFTER_SECS: i64 = 600;

#[derive(Properties, PartialEq)]
pub struct NodeHealthProps {
    pub nodes: Vec<Node>,
    /// Unix seconds.
    pub now: i64,
    pub on_select: Callback<String>,
}

/// The feed at a glance: how many access points report, when the last report came, and
/// per access point its recent reports.
#[function_component]
pub fn NodeHealth(props: &NodeHealthProps) -> Html {
    let now = props.now;
    let last_report = props.nodes.iter().map(|node| node.last_report_at).max();
    let reporting = props
        .nodes
        .iter()
        .filter(|node| now - node.last_report_at <= LATE_AFTER_SECS)
        .count();
    let reports_last_hour: i64 = props.nodes.iter().map(|node| node.reports_last_hour).sum();
    html! {
        <section class="feed" aria-labelledby="feed-title" data-testid="feed">
            <h2 id="feed-title" class="visually-hidden">{ "Feed health" }</h2>
            <p class="feed-summary">
                <strong>{ format!("{} of {} access points", reporting, props.nodes.len()) }</strong>
                { " reporting · " }
                <strong>{ format::count(reports_last_hour) }</strong>
                { " reports in the last hour · last report " }
                <strong data-testid="last-report">
                    { last_report.map(|at| format::relative_time(now, at)).unwrap_or_else(|| "never".to_string()) }
                </strong>
            </p>
            if !props.nodes.is_empty() {
                <details>
                    <summary>{ "Access points" }</summary>
                    <ul class="nodes">
                        { for props.nodes.iter().map(|node| node_item(node, now, &props.on_select)) }
                    </ul>
                </details>
            }
        </section>
    }
}

fn node_item(node: &Node, now: i64, on_select: &Callback<String>) -> Html {
    let age = now - node.last_report_at;
    let (status, status_text) = if age <= LATE_AFTER_SECS {
        ("ok", "reporting")
    } else if age <= SILENT_AFTER_SECS {
        ("late", "late")
    } else {
        ("silent", "silent")
    };
    let mac = node.node_mac.clone();
    let select = on_select.reform(move |_: MouseEvent| mac.clone());
    html! {
        <li class="node">
            <span class={classes!("status", status)} role="img" aria-label={status_text}></span>
            <button type="button" class="link mono" onclick={select} title="Show this access point's probe requests">
                { node.node_mac.clone() }
            </button>
            <span class="muted">{ format!(" network {}", node.network_id) }</span>
            <span>{ format!(" · last report {}", format::relative_time(now, node.last_report_at)) }</span>
            <span>{ format!(" · {} reports in the last hour", format::count(node.reports_last_hour)) }</span>
        </li>
    }
}
