//! Presence at a glance: the summary figures of a range, devices and visits over time,
//! dwell times, and the access points.

mod access_points;
mod csv_download;
mod dwell_histogram;
pub(crate) mod occupancy_now;
mod range_picker;
mod rankings;
mod scope_picker;
mod series;
pub(crate) mod setup;
mod summary;

use api_types::{
    DwellHistogram, NetworkList, NetworkRanking, Node, NodeStatsList, StatsSeries, StatsSummary,
    ZoneRanking,
};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::components::clock;
use crate::components::notice::ErrorNotice;
use crate::hooks::fetch::use_fetch;
use occupancy_now::OccupancyNow;
use range_picker::{range_links, CustomRange};
use rankings::Ranking;
use scope_picker::ScopePicker;

/// How often the figures of a range ending now are computed again.
const REFRESH_MILLIS: u32 = 60_000;
/// The longest range the server computes figures over (`/api/v1/stats/*`).
pub const MAX_RANGE_S: i64 = 31 * 86_400;

/// The ranges offered; `?range=` in the URL, or `?since=&until=` (Unix seconds) for a
/// custom one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    LastHour,
    Today,
    Yesterday,
    SevenDays,
    ThirtyDays,
    Custom { since: i64, until: i64 },
}

impl Range {
    pub const ALL: [Range; 5] = [
        Range::LastHour,
        Range::Today,
        Range::Yesterday,
        Range::SevenDays,
        Range::ThirtyDays,
    ];

    pub fn from_query(query_string: &str) -> Range {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query_string.trim_start_matches('?')).unwrap_or_default();
        let number = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .filter(|v| *v >= 0)
        };
        if let (Some(since), Some(until)) = (number("since"), number("until")) {
            if since <= until {
                return Range::Custom { since, until };
            }
        }
        match pairs
            .iter()
            .find(|(k, _)| k == "range")
            .map(|(_, v)| v.as_str())
        {
            Some("hour") => Range::LastHour,
            Some("yesterday") => Range::Yesterday,
            Some("7d") => Range::SevenDays,
            Some("30d") => Range::ThirtyDays,
            _ => Range::Today,
        }
    }

    /// A custom range longer than the server computes over.
    pub fn is_too_long(self) -> bool {
        matches!(self, Range::Custom { since, until } if until - since > MAX_RANGE_S)
    }

    pub fn key(self) -> &'static str {
        match self {
            Range::LastHour => "hour",
            Range::Today => "today",
            Range::Yesterday => "yesterday",
            Range::SevenDays => "7d",
            Range::ThirtyDays => "30d",
            Range::Custom { .. } => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::LastHour => "Last hour",
            Range::Today => "Today",
            Range::Yesterday => "Yesterday",
            Range::SevenDays => "Last 7 days",
            Range::ThirtyDays => "Last 30 days",
            Range::Custom { .. } => "Custom",
        }
    }

    /// `(since, until, bucket)` at `now`, given `midnight(n)`: the local midnight `n`
    /// days before today's (`midnight(0)`: today's). The last 7 and 30 days are today
    /// and the whole days before it, so every bar but today's is a whole local day.
    pub fn bounds(self, now: i64, midnight: impl Fn(u32) -> i64) -> (i64, i64, &'static str) {
        match self {
            // Twelve bars of 5 minutes (the current one and the eleven before), not
            // two hourly ones. Every zone's offset is a multiple of 5 minutes, so these
            // are the local clock's too.
            Range::LastHour => (now - now.rem_euclid(300) - 11 * 300, now, "5m"),
            Range::Today => (midnight(0), now, "hour"),
            Range::Yesterday => (midnight(1), midnight(0) - 1, "hour"),
            Range::SevenDays => (midnight(6), now, "day"),
            Range::ThirtyDays => (midnight(29), now, "day"),
            // 5 minutes up to 3 hours, quarter hours up to 12, hours up to two days,
            // days beyond: between 12 and 48 bars (more than a phone shows apart).
            Range::Custom { since, until } => (
                since,
                until,
                match until - since {
                    span if span <= 3 * 3_600 => "5m",
                    span if span <= 12 * 3_600 => "15m",
                    span if span <= 2 * 86_400 => "hour",
                    _ => "day",
                },
            ),
        }
    }
}

/// What the Overview is narrowed to: one network, one zone, one access point
/// (`?network_id=&zone=&node_mac=`); and whether it counts every hour (`?hours=all`)
/// rather than the opening hours only.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Scope {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_mac: Option<String>,
    /// `all` to count closed hours too; absent: within opening hours where set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
}

impl Scope {
    pub fn from_query(query_string: &str) -> Scope {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query_string.trim_start_matches('?')).unwrap_or_default();
        let value = |key: &str| {
            pairs
                .iter()
                .find(|(k, v)| k == key && !v.trim().is_empty())
                .map(|(_, v)| v.trim().to_string())
        };
        Scope {
            // Negative ids are Meraki networks.
            network_id: value("network_id").and_then(|v| v.parse().ok()),
            zone: value("zone"),
            node_mac: value("node_mac"),
            hours: value("hours").filter(|hours| hours == "all"),
        }
    }

    /// The API's parameters for this scope.
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(network_id) = self.network_id {
            params.push(("network_id", network_id.to_string()));
        }
        if let Some(zone) = &self.zone {
            params.push(("zone", zone.clone()));
        }
        if let Some(node_mac) = &self.node_mac {
            params.push(("node_mac", node_mac.clone()));
        }
        if let Some(hours) = &self.hours {
            params.push(("hours", hours.clone()));
        }
        params
    }

    /// The same scope counting every hour (`all`) or within opening hours (`None`).
    fn with_hours(&self, hours: Option<&str>) -> Scope {
        Scope {
            hours: hours.map(str::to_string),
            ..self.clone()
        }
    }
}

/// The networks and access points, for the scope's menus and its time zone.
#[derive(Clone, PartialEq)]
pub(crate) struct Places {
    networks: NetworkList,
    pub(crate) nodes: Vec<Node>,
}

/// [`Places`] as the fetch hook keeps it (with its inputs, none): shared, not copied.
type PlacesAnswer = std::rc::Rc<((), Places)>;

impl Places {
    /// Every network and access point.
    pub(crate) async fn load(signal: Option<&web_sys::AbortSignal>) -> Result<Places, ApiError> {
        Ok(Places {
            networks: api::list_networks(signal).await?,
            nodes: api::list_nodes(signal).await?.items,
        })
    }

    /// The time zone hours and days are shown in: the network's; over several, theirs
    /// when they share one; else the browser's.
    pub(crate) fn time_zone(&self, scope: &Scope) -> String {
        let zone_of = |network_id: i64| {
            self.networks
                .items
                .iter()
                .find(|n| n.network_id == network_id)
                .map_or_else(|| "UTC".to_string(), |n| n.time_zone.clone())
        };
        let mut zones: Vec<String> = self.networks_in(scope).into_iter().map(zone_of).collect();
        zones.dedup();
        match zones.as_slice() {
            [only] => only.clone(),
            _ => clock::time_zone(),
        }
    }

    /// The networks the scope covers (those of its access points), by id.
    fn networks_in(&self, scope: &Scope) -> Vec<i64> {
        let mut networks: Vec<i64> = match scope.network_id {
            Some(id) => vec![id],
            None => self
                .nodes
                .iter()
                .filter(|node| scope.zone.is_none() || node.zone == scope.zone)
                .filter(|node| {
                    scope.node_mac.as_ref().is_none_or(|mac| {
                        crate::mac::canonical(mac).as_ref() == Some(&node.node_mac)
                    })
                })
                .map(|node| node.network_id)
                .collect(),
        };
        networks.sort_unstable();
        networks.dedup();
        networks
    }

    /// The scope's networks whose vendor leaves randomized MACs out of its feed, by
    /// name, with the vendor.
    fn dropping_randomized(&self, scope: &Scope) -> Vec<(String, api_types::Vendor)> {
        let covered = self.networks_in(scope);
        self.networks
            .items
            .iter()
            .filter(|network| covered.contains(&network.network_id))
            .filter(|network| network.vendor.drops_randomized())
            .map(|network| {
                let name = network
                    .name
                    .clone()
                    .or_else(|| network.meraki_id.clone())
                    .unwrap_or_else(|| network.network_id.to_string());
                (name, network.vendor)
            })
            .collect()
    }

    /// The scope's access points.
    fn nodes_in<'a>(&'a self, scope: &'a Scope) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes
            .iter()
            .filter(|node| scope.network_id.is_none_or(|id| id == node.network_id))
            .filter(|node| scope.zone.is_none() || node.zone == scope.zone)
            .filter(|node| {
                scope
                    .node_mac
                    .as_ref()
                    .is_none_or(|mac| crate::mac::canonical(mac).as_ref() == Some(&node.node_mac))
            })
    }

    /// When the scope's first access point first reported (`None`: none known).
    fn first_report(&self, scope: &Scope) -> Option<i64> {
        self.nodes_in(scope).map(|node| node.first_report_at).min()
    }

    /// The scope's silent access points, each as "Café (Upstairs) since 14:02".
    fn silent_in(&self, scope: &Scope) -> Vec<String> {
        let tz = self.time_zone(scope);
        self.nodes_in(scope)
            .filter(|node| node.silent)
            .map(|node| {
                let name = node.name.clone().unwrap_or_else(|| node.node_mac.clone());
                let zone = node
                    .zone
                    .as_ref()
                    .map(|zone| format!(" ({zone})"))
                    .unwrap_or_default();
                let since = node
                    .silent_since
                    .map(|since| format!(" since {}", clock::local_time_in(since, &tz)))
                    .unwrap_or_default();
                format!("{name}{zone}{since}")
            })
            .collect()
    }

    /// A zone some of whose access points are silent: "1 of 2 access points silent".
    fn zone_silence(&self, zone: &str) -> Option<String> {
        let in_zone: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|node| node.zone.as_deref() == Some(zone))
            .collect();
        let silent = in_zone.iter().filter(|node| node.silent).count();
        (silent > 0).then(|| format!("{silent} of {} access points silent", in_zone.len()))
    }

    fn zones(&self) -> Vec<String> {
        crate::components::filter_form::zones_of(&self.nodes)
    }
}

#[derive(Clone, PartialEq)]
struct Figures {
    summary: StatsSummary,
    series: StatsSeries,
    histogram: DwellHistogram,
    nodes: NodeStatsList,
    zones: ZoneRanking,
    networks: NetworkRanking,
    /// The range and scope they are of: another's figures are never shown under this one.
    range: Range,
    scope: Scope,
    /// The time zone of their hours and days.
    tz: String,
    bucket: &'static str,
    /// When they were computed, Unix seconds.
    at: i64,
}

#[function_component]
pub fn Overview() -> Html {
    crate::hooks::title::use_title("Overview".to_string());
    let location = use_location();
    let query_str = location.as_ref().map(|l| l.query_str()).unwrap_or_default();
    let range = Range::from_query(query_str);
    let scope = Scope::from_query(query_str);
    // The networks and access points: the scope's menus and time zone. Until they are
    // known (or if they cannot be), the browser's zone.
    let places = use_fetch((), |(), signal| async move {
        Places::load(signal.as_ref()).await
    });
    let places_tried = places.data.is_some() || places.error.is_some();
    // No access point has ever reported: the page says how to connect one (not zeros),
    // and looks again every refresh until one has.
    let unconnected = places
        .data
        .as_ref()
        .is_some_and(|places| places.1.nodes.is_empty());
    crate::hooks::refresh::use_auto_refresh(REFRESH_MILLIS, unconnected, places.reload.clone());
    let places: Option<PlacesAnswer> = places.data;
    let tz = places
        .as_ref()
        .map_or_else(clock::time_zone, |places| places.1.time_zone(&scope));
    // Only the latest range, scope and zone's request may update the page; a change or
    // a refresh aborts the one before. Nothing is asked while the time zone is not
    // known, nor for a range the server would refuse (the page says so).
    let deps = (range, scope.clone(), tz.clone(), places_tried);
    let fetched = use_fetch(
        deps.clone(),
        |(range, scope, tz, ready): (Range, Scope, String, bool), signal| async move {
            if range.is_too_long() || !ready {
                return Ok(None);
            }
            let signal = signal.as_ref();
            let now = clock::now();
            let (since, until, bucket) =
                range.bounds(now, |days| clock::midnight_days_before_in(now, days, &tz));
            // The scope's zone: its hours and days for the buckets and "returning".
            let mut params = vec![
                ("since", since.to_string()),
                ("until", until.to_string()),
                ("tz", tz.clone()),
            ];
            params.extend(scope.params());
            let mut series_params = params.clone();
            series_params.push(("bucket", bucket.to_string()));
            // The summary against the same local time a week before: a venue's week
            // is its cycle (a Saturday against a Friday says little).
            let mut summary_params = params.clone();
            summary_params.push(("compare", "last_week".to_string()));
            Ok::<_, ApiError>(Some(Figures {
                summary: api::stats_summary(&summary_params, signal).await?,
                series: api::stats_series(&series_params, signal).await?,
                histogram: api::dwell_histogram(&params, signal).await?,
                nodes: api::stats_nodes(&params, signal).await?,
                zones: api::stats_zones(&summary_params, signal).await?,
                networks: api::stats_networks(&summary_params, signal).await?,
                range,
                scope,
                tz,
                bucket,
                at: now,
            }))
        },
    );
    // A range that ends now moves on: its figures are computed again every minute
    // (not while the tab is hidden).
    crate::hooks::refresh::use_auto_refresh(
        REFRESH_MILLIS,
        !matches!(range, Range::Custom { .. }),
        fetched.reload.clone(),
    );
    let retry = fetched.reload.clone();
    let error = &fetched.error;
    let figures = fetched.answer_to(&deps).and_then(Option::as_ref);

    html! {
        <main class="page overview" data-testid="overview">
            <h2>{ "Presence overview" }</h2>
            <OccupancyNow scope={scope.clone()} />
            <ScopePicker scope={scope.clone()} range={range} places={places.clone()} />
            { range_links(range, &scope) }
            <CustomRange current={range} scope={scope.clone()} />
            if let Some(figures) = figures {
                // Not a live region: it changes every minute and would be read out each time.
                <p class="status-line" data-testid="overview-status">
                    { format!("Computed {}", clock::local_time(figures.at)) }
                    <span data-testid="overview-tz">{ format!(" · hours and days in {}", figures.tz) }</span>
                    if !matches!(range, Range::Custom { .. }) {
                        { format!(" · refreshes every {} s", REFRESH_MILLIS / 1000) }
                    }
                </p>
                { hours_line(figures, range) }
            }
            { vendor_note(places.as_deref().map(|places| &places.1), &scope) }
            if range.is_too_long() {
                <p class="field-error" role="alert" data-testid="range-too-long">
                    { "A range may span at most 31 days: choose a shorter one." }
                </p>
            } else if let Some(problem) = error {
                <ErrorNotice message={problem.message()} on_retry={retry} />
            }
            { match figures {
                _ if range.is_too_long() => html! {},
                None if error.is_none() => html! { <p class="status-line" role="status">{ "Computing the figures…" }</p> },
                None => html! {},
                Some(_) if unconnected => setup::pointer(),
                Some(figures) => view(figures, places.as_ref().map(|places| &places.1)),
            } }
        </main>
    }
}

/// How complete the range's reports are, and the access points that were silent in it
/// (by name where named).
fn completeness_line(summary: &StatsSummary, places: Option<&Places>) -> Html {
    let Some(completeness) = &summary.completeness else {
        return html! {};
    };
    let Some(share) = completeness.share else {
        return html! {};
    };
    let partial = crate::format::incomplete(Some(completeness)).is_some();
    let name = |mac: &String| {
        places
            .and_then(|places| places.nodes.iter().find(|node| &node.node_mac == mac))
            .and_then(|node| node.name.clone())
            .unwrap_or_else(|| mac.clone())
    };
    let silent: Vec<String> = completeness.silent_nodes.iter().map(name).collect();
    html! {
        <p class={classes!("completeness", partial.then_some("partial"))} data-testid="completeness">
            { format!(
                "{:.0}% of expected reports ({} of {})",
                (share * 100.0).floor(),
                crate::format::count(completeness.received_reports),
                crate::format::count(completeness.expected_reports)
            ) }
            if partial {
                { ": the figures miss what the missing reports would have carried" }
            }
            if !silent.is_empty() {
                { format!(". Silent in this range: {}.", silent.join(", ")) }
            }
        </p>
    }
}

/// The Overview's query string for `range` narrowed to `scope`.
pub(crate) fn overview_query(range: Range, scope: &Scope) -> String {
    let scope = serde_urlencoded::to_string(scope).unwrap_or_default();
    let range = match range {
        Range::Custom { since, until } => format!("since={since}&until={until}"),
        other => format!("range={}", other.key()),
    };
    if scope.is_empty() {
        range
    } else {
        format!("{range}&{scope}")
    }
}

/// Says whether the figures count within opening hours, with the way to the other
/// count; nothing where no network of the scope has opening hours.
fn hours_line(figures: &Figures, range: Range) -> Html {
    let within = figures.summary.hours.as_deref() == Some("open");
    let all = figures.scope.hours.is_some();
    if !within && !all {
        return html! {};
    }
    let link = |scope: Scope, text: &'static str| {
        let query = overview_query(range, &scope);
        html! {
            <crate::components::nav_link::NavLink to={crate::route::Route::Overview} {query} current={false}>
                { text }
            </crate::components::nav_link::NavLink>
        }
    };
    html! {
        <p class="hint" data-testid="hours-line">
            if within {
                { "Counted within opening hours: visits at closed times (staff, cleaners, always-on devices) are left out. " }
                { link(figures.scope.with_hours(Some("all")), "Count every hour") }
            } else {
                { "Counting every hour, closed times included. " }
                { link(figures.scope.with_hours(None), "Count within opening hours") }
            }
        </p>
    }
}

/// Says which of the scope's networks report through a vendor that leaves randomized
/// MACs out (Meraki's Scanning API v3 keeps associated clients' only), so that their
/// device counts and capture rates are not compared blindly with other networks'.
fn vendor_note(places: Option<&Places>, scope: &Scope) -> Html {
    let Some(places) = places else {
        return html! {};
    };
    let networks = places.dropping_randomized(scope);
    if networks.is_empty() {
        return html! {};
    }
    let names: Vec<String> = networks
        .iter()
        .map(|(name, vendor)| format!("{name} ({})", crate::format::vendor(*vendor)))
        .collect();
    let (which, verb) = if names.len() == 1 {
        ("Network", "reports")
    } else {
        ("Networks", "report")
    };
    html! {
        <p class="notice" data-testid="vendor-note">
            { format!(
                "{which} {} {verb} through a vendor whose feed leaves out randomized MACs of \
                 clients that are not connected: its device counts and capture rates are lower \
                 than a CloudTrax network's for the same crowd; compare them with care.",
                names.join(", ")
            ) }
        </p>
    }
}

/// The figures of a range, section by section; `first_report` is the first report of
/// the scope's access points (before it, no data, not zero).
fn view(figures: &Figures, places: Option<&Places>) -> Html {
    let first_report = places.and_then(|places| places.first_report(&figures.scope));
    let silent = places.map_or_else(Vec::new, |places| places.silent_in(&figures.scope));
    let mut zone_rows = rankings::zone_rows(&figures.zones, figures.range, &figures.scope);
    if let Some(places) = places {
        for row in &mut zone_rows {
            if row.partial.is_none() {
                row.partial = places.zone_silence(&row.name);
            }
        }
    }
    html! {
        <>
            // A silent access point's absence reads as an empty place: name it beside
            // the figures it affects.
            if !silent.is_empty() {
                <p class="notice" role="note" data-testid="silent-in-scope">
                    { format!(
                        "Not reporting: {}. The figures miss what {} would have heard since.",
                        silent.join("; "),
                        if silent.len() == 1 { "it" } else { "they" }
                    ) }
                </p>
            }
            { summary::cards(&figures.summary) }
            { completeness_line(&figures.summary, places) }
            { csv_download::link(figures) }
            { series::charts(figures, first_report) }
            { dwell_histogram::chart(&figures.histogram) }
            // Rankings where there is something to rank.
            if figures.zones.items.len() > 1 {
                <Ranking title="Zones" testid="zone-ranking" rows={zone_rows} />
            }
            if figures.networks.items.len() > 1 {
                <Ranking title="Networks" testid="network-ranking" rows={rankings::network_rows(&figures.networks, figures.range, &figures.scope)} />
            }
            { access_points::table(&figures.nodes) }
        </>
    }
}

#[cfg(test)]
mod tests {
    use super::Range;

    #[test]
    fn ranges_from_the_url_and_their_bounds() {
        assert_eq!(Range::from_query("?range=hour"), Range::LastHour);
        assert_eq!(Range::from_query("range=7d"), Range::SevenDays);
        assert_eq!(Range::from_query("range=yesterday"), Range::Yesterday);
        assert_eq!(Range::from_query("range=30d"), Range::ThirtyDays);
        assert_eq!(Range::from_query(""), Range::Today);
        assert_eq!(Range::from_query("range=nonsense"), Range::Today);
        for range in Range::ALL {
            assert_eq!(Range::from_query(&format!("range={}", range.key())), range);
        }
        assert_eq!(
            Range::from_query("since=100&until=200&range=hour"),
            Range::Custom {
                since: 100,
                until: 200
            },
            "a custom range wins"
        );
        assert_eq!(
            Range::from_query("since=300&until=200"),
            Range::Today,
            "backwards is ignored"
        );
        // Midnights of a zone without DST: today's at 950,400.
        let midnight = |days: u32| 950_400 - i64::from(days) * 86_400;
        let custom = |since: i64, until: i64| Range::Custom { since, until }.bounds(9, midnight);
        assert_eq!(custom(0, 86_400), (0, 86_400, "hour"));
        assert_eq!(custom(0, 3 * 86_400).2, "day");
        assert_eq!(
            Range::LastHour.bounds(10_000, midnight),
            (6_600, 10_000, "5m")
        );
        let custom = |hours: i64| custom(0, hours * 3_600).2;
        assert_eq!(
            [
                custom(3),
                custom(4),
                custom(12),
                custom(13),
                custom(48),
                custom(49)
            ],
            ["5m", "15m", "15m", "hour", "hour", "day"]
        );
        let now = 1_000_000;
        assert_eq!(Range::Today.bounds(now, midnight), (950_400, now, "hour"));
        // Yesterday: its whole local day, hour by hour.
        assert_eq!(
            Range::Yesterday.bounds(now, midnight),
            (864_000, 950_399, "hour")
        );
        // From the local midnight six (29) days before today's: whole days, no partial
        // first.
        assert_eq!(
            Range::SevenDays.bounds(now, midnight),
            (432_000, now, "day")
        );
        assert_eq!(
            Range::ThirtyDays.bounds(now, midnight),
            (950_400 - 29 * 86_400, now, "day")
        );
    }

    #[test]
    fn a_custom_range_over_31_days_is_too_long() {
        let days = |n: i64| Range::Custom {
            since: 0,
            until: n * 86_400,
        };
        assert!(!days(31).is_too_long());
        assert!(days(32).is_too_long());
        assert!(!Range::SevenDays.is_too_long());
    }
}
