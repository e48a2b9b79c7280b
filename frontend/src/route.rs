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
    /// The networks' names, time zones and opening hours.
    #[at("/settings")]
    Settings,
    /// One device: a client MAC within a network.
    #[at("/device/:network_id/:mac")]
    Device { network_id: i64, mac: String },
    #[not_found]
    #[at("/404")]
    NotFound,
}

impl Route {
    /// Whether `route`, with the query string `query`, shows the probe-request table:
    /// its own path, the original receiver's `/filter`, and `/` with a query string
    /// (the table's old links, `/?mac=..`, `/?limit=100`); bare `/` is the home page.
    pub fn shows_table(route: Option<&Route>, query: &str) -> bool {
        match route {
            Some(Route::ProbeRequests | Route::LegacyFilter) => true,
            Some(Route::Home) => !query.trim_start_matches('?').is_empty(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn old_links_to_the_table_still_show_it() {
        let home = Some(&Route::Home);
        assert!(!Route::shows_table(home, ""));
        assert!(!Route::shows_table(home, "?"));
        assert!(Route::shows_table(home, "?mac=00:11:22:33:44:55"));
        assert!(Route::shows_table(home, "limit=100"));
        assert!(Route::shows_table(Some(&Route::LegacyFilter), "?mac=x"));
        assert!(Route::shows_table(Some(&Route::ProbeRequests), ""));
        assert!(!Route::shows_table(Some(&Route::Overview), "?range=hour"));
        assert!(!Route::shows_table(None, "?mac=x"));
    }
}
