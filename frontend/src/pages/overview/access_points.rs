//! The access points table: each one's devices and visits over the range, and how many
//! devices it heard the strongest.

use api_types::NodeStatsList;
use yew::prelude::*;

use crate::format;

/// A row an access point, each linking to its probe requests.
pub(super) fn table(nodes: &NodeStatsList) -> Html {
    html! {
        <section aria-labelledby="ap-title">
            <h3 id="ap-title">{ "Access points" }</h3>
            <div class="table-wrap">
                <table class="probes" data-testid="ap-table">
                    <thead><tr>
                        <th scope="col">{ "Access point" }</th>
                        <th scope="col">{ "Zone" }</th>
                        <th scope="col" class="num">{ "Devices" }</th>
                        <th scope="col" class="num">{ "Visits" }</th>
                        <th scope="col" class="num">{ "Strongest for" }</th>
                    </tr></thead>
                    <tbody>
                        { for nodes.items.iter().map(|node| html! {
                            <tr>
                                <td>
                                    if let Some(name) = &node.name {
                                        <div class="place-name">{ name.clone() }</div>
                                    }
                                    <a class="mono" href={format!("/?node_mac={}", node.node_mac)}
                                        title="This access point's probe requests">{ node.node_mac.clone() }</a>
                                </td>
                                <td>{ node.zone.clone().unwrap_or_default() }</td>
                                <td class="num">{ format::count(node.devices) }</td>
                                <td class="num">{ format::count(node.visits) }</td>
                                <td class="num">{ format!("{} devices", format::count(node.strongest_for_devices)) }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}
