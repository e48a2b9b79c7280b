//! What the Overview says before any access point has reported: how to connect one,
//! instead of figures of zero (and a CSV of zeros) that look like an empty venue.

use yew::prelude::*;

/// The set-up pointer, with this server's own URLs.
pub fn pointer() -> Html {
    let origin = web_sys::window()
        .and_then(|window| window.location().origin().ok())
        .unwrap_or_default();
    html! {
        <section class="notice setup" data-testid="overview-setup">
            <h3>{ "No access point has reported yet" }</h3>
            <p>{ "Figures appear here once access points post what they hear to this server:" }</p>
            <ul>
                <li>
                    <strong>{ "CloudTrax" }</strong>
                    { ": in the network's Presence Reporting settings, set the URL to " }
                    <code data-testid="setup-cloudtrax-url">{ format!("{origin}/receive") }</code>
                    { " and the secret to this server's NCOMPASS_SECRET." }
                </li>
                <li>
                    <strong>{ "Cisco Meraki" }</strong>
                    { ": an administrator adds a source (" }<code>{ "ncompass source add meraki NAME …" }</code>
                    { "), then Meraki's Location and scanning settings post to " }
                    <code>{ format!("{origin}/meraki/NAME") }</code>{ "." }
                </li>
            </ul>
            <p>{ "The README's \"Pointing CloudTrax at NCompass\" and \"Pointing Cisco Meraki at NCompass\" give every step. Access points report every 30 to 60 seconds; this page refreshes by itself." }</p>
        </section>
    }
}
