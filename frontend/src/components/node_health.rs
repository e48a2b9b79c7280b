use std::rc::Rc;

use api_types::Node;
use yew::prelude::*;

use crate::format;

/// An access point posting every 30 or 60 s is late past this many seconds (silent is
/// the server's call: `--silence-after`).
const LATE_AFTER_SECS: i64 = 120;

#[derive(Properties, PartialEq)]
pub struct NodeHealthProps {
    /// The access points; `None` while not known yet (loading, or the first load failed).
    pub nodes: Option<Rc<Vec<Node>>>,
    /// The last attempt to load them failed.
    pub failed: bool,
    /// Unix seconds.
    pub now: i64,
    pub on_select: Callback<String>,
}

/// The feed at a glance: how many access points report, when the last report came, and
/// per access point its recent reports.
#[function_component]
pub fn NodeHealth(props: &NodeHealthProps) -> Html {
    let now = props.now;
    let Some(nodes) = &props.nodes else {
        // Not known: never "0 of 0 access points", which reads like an outage.
        return html! {
            <section class="feed" aria-labelledby="feed-title" data-testid="feed">
                <h2 id="feed-title" class="visually-hidden">{ "Feed health" }</h2>
                <p class="feed-summary">
                    if props.failed {
                        { "Access points: unknown (the server did not answer; retrying)" }
                    } else {
                        { "Access points: loading…" }
                    }
                </p>
            </section>
        };
    };
    let last_report = nodes.iter().map(|node| node.last_report_at).max();
    let reporting = nodes
        .iter()
        .filter(|node| now - node.last_report_at <= LATE_AFTER_SECS)
        .count();
    let reports_last_hour: i64 = nodes.iter().map(|node| node.reports_last_hour).sum();
    html! {
        <section class="feed" aria-labelledby="feed-title" data-testid="feed">
            <h2 id="feed-title" class="visually-hidden">{ "Feed health" }</h2>
            <p class="feed-summary">
                <strong>{ format!("{} of {} access points", reporting, nodes.len()) }</strong>
                { " reporting · " }
                <strong>{ format::count(reports_last_hour) }</strong>
                { " reports in the last hour · last report " }
                <strong data-testid="last-report">
                    { last_report.map(|at| format::relative_time(now, at)).unwrap_or_else(|| "never".to_string()) }
                </strong>
                if props.failed {
                    <span class="muted" data-testid="feed-stale">
                        { " · could not refresh (showing the last known)" }
                    </span>
                }
            </p>
            if !nodes.is_empty() {
                <details>
                    <summary>{ "Access points" }</summary>
                    <ul class="nodes">
                        { for nodes.iter().map(|node| node_item(node, now, &props.on_select)) }
                    </ul>
                </details>
            }
        </section>
    }
}

fn node_item(node: &Node, now: i64, on_select: &Callback<String>) -> Html {
    let age = now - node.last_report_at;
    let (status, status_text) = if node.silent {
        ("silent", "silent")
    } else if age <= LATE_AFTER_SECS {
        ("ok", "reporting")
    } else {
        ("late", "late")
    };
    let mac = node.node_mac.clone();
    let select = on_select.reform(move |_: MouseEvent| mac.clone());
    html! {
        <li class="node">
            <span class={classes!("status", status)} role="img" aria-label={status_text}></span>
            if let Some(name) = &node.name {
                <strong>{ format!("{name} ") }</strong>
            }
            <button type="button" class="link mono" onclick={select} title="Show this access point's probe requests">
                { node.node_mac.clone() }
            </button>
            if let Some(zone) = &node.zone {
                <span class="badge zone">{ zone.clone() }</span>
            }
            <span class="muted">{ format!(" network {}", node.network_name.clone().unwrap_or_else(|| node.network_id.to_string())) }</span>
            <span class="badge vendor" data-testid="node-vendor" title="The vendor whose reports it sends">
                { format::vendor(node.vendor) }
            </span>
            <span>{ format!(" · last report {}", format::relative_time(now, node.last_report_at)) }</span>
            <span>{ format!(" · {} reports in the last hour", format::count(node.reports_last_hour)) }</span>
        </li>
    }
}

#[derive(Properties, PartialEq)]
pub struct SilentNodesProps {
    pub nodes: Rc<Vec<Node>>,
    /// Unix seconds.
    pub now: i64,
}

/// The access points the server calls silent (`--silence-after`), by name: nothing
/// while every one reports. The MAC and how long it has been silent are in the tooltip.
#[function_component]
pub fn SilentNodes(props: &SilentNodesProps) -> Html {
    let silent: Vec<&Node> = props.nodes.iter().filter(|node| node.silent).collect();
    if silent.is_empty() {
        return html! {};
    }
    let now = props.now;
    html! {
        <span class="silent-nodes" data-testid="silent-nodes" role="status">
            { format!("{} silent: ", silent.len()) }
            { for silent.iter().enumerate().map(|(i, node)| html! {
                <>
                    if i > 0 { { ", " } }
                    <strong title={format!("{} · no report since {}", node.node_mac,
                        format::relative_time(now, node.silent_since.unwrap_or(node.last_report_at)))}>
                        { label(node) }
                    </strong>
                </>
            }) }
        </span>
    }
}

/// An access point as people call it: its name, or its MAC while unnamed.
pub fn label(node: &Node) -> String {
    node.name.clone().unwrap_or_else(|| node.node_mac.clone())
}
