use api_types::PrivacySummary;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct PrivacyNoteProps {
    /// `None` while unknown (loading, or the server did not say).
    pub summary: Option<PrivacySummary>,
}

/// The footer line that tells anyone looking what is kept, and for how long.
#[function_component]
pub fn PrivacyNote(props: &PrivacyNoteProps) -> Html {
    let Some(summary) = &props.summary else {
        return html! {};
    };
    let macs = if summary.mac_privacy == "keyed" {
        "Device MACs are pseudonymized (a keyed hash replaces each before it is stored)."
    } else {
        "Device MACs are stored as heard."
    };
    html! {
        <footer class="privacy-note" data-testid="privacy">
            { macs }
            { " Probe requests are kept " }{ kept(summary.keep_probe_requests_s) }
            { ", presence figures " }{ kept(summary.keep_presence_s) }{ "." }
        </footer>
    }
}

/// `for 30 days`, `for 24 hours`, `for 90 minutes`, or `with no time limit`.
pub fn kept(seconds: Option<u64>) -> String {
    let Some(seconds) = seconds else {
        return "with no time limit".to_string();
    };
    let (amount, unit) = if seconds % 86_400 == 0 {
        (seconds / 86_400, "day")
    } else if seconds % 3_600 == 0 {
        (seconds / 3_600, "hour")
    } else if seconds % 60 == 0 {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    let plural = if amount == 1 { "" } else { "s" };
    format!("for {amount} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::kept;

    #[test]
    fn periods_read_in_their_largest_whole_unit() {
        assert_eq!(kept(None), "with no time limit");
        assert_eq!(kept(Some(30 * 86_400)), "for 30 days");
        assert_eq!(kept(Some(86_400)), "for 1 day");
        assert_eq!(kept(Some(36 * 3_600)), "for 36 hours");
        assert_eq!(kept(Some(5_400)), "for 90 minutes");
        assert_eq!(kept(Some(61)), "for 61 seconds");
    }
}
