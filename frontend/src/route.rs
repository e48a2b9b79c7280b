//! The dashboard's pages and their paths: what the router switches on and every link
//! within the dashboard points to.

use yew_router::Routable;

#[derive(Debug, Clone, PartialEq, Routable)]
pub enum Route {
    /// Today's answer (visitors, here now, busiest zones). With a query string (the
    /// table's filters of old links, `/?mac=..`), the probe-request table.
    #[at("/")]
    Home,
    /// The probe-request table; its filters live in the query string.
    #[at("/probe-requests")]
    ProbeRequests,
    /// The original receiver's filter page: `/filter?mac=..&node_mac=..`.
    #[at("/filter")]
    LegacyFilter,
    /// Presence figures and charts; `?range=hour|today|yesterday|7d|30d`.
    #[at("/overview")]
    Overview,
    /// One device: a client MAC within a network.
    #[at("/device/:network_id/:mac")]
    Device { network_id: i64, mac: String },
    #[not_found]
    #[at("/404")]
    NotFound,
}
