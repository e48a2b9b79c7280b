//! Where things are, in the operator's words: networks' names and time zones, access
//! points' names and zones. Small tables, read whole ([`Directory`]) by the requests
//! that show names.

use std::collections::{BTreeMap, HashMap};

use api_types::{Network, NodeLabel, OpeningHours, ProbeRequest, Rejection, Vendor};
use diesel::dsl::{count_star, max};
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::schema::{networks, node_labels, nodes};
use super::Conn;

/// A network's time zone when none is set.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// Every name, zone and time zone, to label what a request answers.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// network_id -> (name, time zone)
    networks: HashMap<i64, (Option<String>, String)>,
    /// The networks with opening hours.
    opening_hours: HashMap<i64, OpeningHours>,
    /// The networks of another vendor than CloudTrax.
    vendors: HashMap<i64, Vendor>,
    /// node_mac -> (name, zone)
    nodes: HashMap<String, (Option<String>, Option<String>)>,
}

impl Directory {
    pub fn network_name(&self, network_id: i64) -> Option<String> {
        self.networks
            .get(&network_id)
            .and_then(|(name, _)| name.clone())
    }

    /// The network's IANA time zone, `UTC` when none is set.
    pub fn time_zone(&self, network_id: i64) -> &str {
        self.networks
            .get(&network_id)
            .map_or(DEFAULT_TIME_ZONE, |(_, tz)| tz.as_str())
    }

    /// Every time zone set on a network, once each.
    pub fn time_zones(&self) -> Vec<&str> {
        let mut zones: Vec<&str> = self.networks.values().map(|(_, tz)| tz.as_str()).collect();
        zones.sort_unstable();
        zones.dedup();
        zones
    }

    /// The network's opening hours, if set.
    pub fn opening_hours(&self, network_id: i64) -> Option<&OpeningHours> {
        self.opening_hours.get(&network_id)
    }

    /// Every network with opening hours, with them.
    pub fn networks_with_hours(&self) -> impl Iterator<Item = (i64, &OpeningHours)> {
        self.opening_hours.iter().map(|(id, hours)| (*id, hours))
    }

    /// The vendor whose access points report for the network.
    pub fn vendor(&self, network_id: i64) -> Vendor {
        self.vendors.get(&network_id).copied().unwrap_or_default()
    }

    pub fn node_name(&self, node_mac: &str) -> Option<String> {
        self.nodes.get(node_mac).and_then(|(name, _)| name.clone())
    }

    pub fn zone(&self, node_mac: &str) -> Option<String> {
        self.nodes.get(node_mac).and_then(|(_, zone)| zone.clone())
    }

    /// Every zone with its access points (both sorted).
    pub fn zones(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut zones = std::collections::BTreeMap::<String, Vec<String>>::new();
        for (mac, (_, zone)) in &self.nodes {
            if let Some(zone) = zone {
                zones.entry(zone.clone()).or_default().push(mac.clone());
            }
        }
        for nodes in zones.values_mut() {
            nodes.sort_unstable();
        }
        zones
    }

    /// Every network with a row (named, given a time zone, or registered by a vendor).
    pub fn network_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.networks.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Fills in the names of a stored probe request.
    pub fn label(&self, row: &mut ProbeRequest) {
        row.network_name = self.network_name(row.network_id);
        row.node_name = self.node_name(&row.node_mac);
        row.zone = self.zone(&row.node_mac);
        row.source_vendor = self.vendor(row.network_id);
    }

    /// Fills in the names of the network and access point a refused body named.
    pub fn label_rejection(&self, rejection: &mut Rejection) {
        rejection.network_name = rejection.network_id.and_then(|id| self.network_name(id));
        rejection.node_name = rejection
            .node_mac
            .as_deref()
            .and_then(|mac| self.node_name(mac));
        rejection.zone = rejection.node_mac.as_deref().and_then(|mac| self.zone(mac));
    }
}

/// Reads every name, zone and time zone (two small tables).
pub fn directory(conn: &mut Conn) -> QueryResult<Directory> {
    let rows = networks::table
        .select((
            networks::network_id,
            networks::name,
            networks::time_zone,
            networks::vendor,
            networks::opening_hours,
        ))
        .load::<(i64, Option<String>, String, Option<String>, Option<String>)>(conn)?;
    let vendors = rows
        .iter()
        .filter_map(|(id, _, _, vendor, _)| {
            let vendor = Vendor::parse(vendor.as_deref()?)?;
            Some((*id, vendor))
        })
        .collect();
    let opening_hours = rows
        .iter()
        .filter_map(|(id, _, _, _, hours)| Some((*id, stored_hours(hours.as_deref())?)))
        .collect();
    let networks = rows
        .into_iter()
        .map(|(id, name, tz, _, _)| (id, (name, tz)))
        .collect();
    let nodes = node_labels::table
        .select((node_labels::node_mac, node_labels::name, node_labels::zone))
        .load::<(String, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(mac, name, zone)| (mac, (name, zone)))
        .collect();
    Ok(Directory {
        networks,
        opening_hours,
        vendors,
        nodes,
    })
}

/// Opening hours as stored (JSON); a value this version cannot read counts as none.
fn stored_hours(text: Option<&str>) -> Option<OpeningHours> {
    serde_json::from_str(text?).ok()
}

/// Sets a network's name, time zone and opening hours (validated by the caller;
/// creating its row: a network may be named before it reports).
pub fn put_network(
    conn: &mut Conn,
    network_id: i64,
    name: Option<&str>,
    time_zone: &str,
    opening_hours: Option<&OpeningHours>,
) -> QueryResult<()> {
    let hours = opening_hours
        .map(serde_json::to_string)
        .transpose()
        .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))?;
    let row = (
        networks::network_id.eq(network_id),
        networks::name.eq(name),
        networks::time_zone.eq(time_zone),
        networks::opening_hours.eq(hours),
    );
    on_each_backend!(conn, |conn| diesel::insert_into(networks::table)
        .values(row.clone())
        .on_conflict(networks::network_id)
        .do_update()
        .set((
            networks::name.eq(excluded(networks::name)),
            networks::time_zone.eq(excluded(networks::time_zone)),
            networks::opening_hours.eq(excluded(networks::opening_hours)),
        ))
        .execute(conn))?;
    Ok(())
}

/// Registers the NCompass network a Meraki network is stored as, on its first post:
/// named after Meraki's id until an operator names it. Writes nothing once registered.
pub fn register_meraki_network(
    conn: &mut Conn,
    network_id: i64,
    meraki_id: &str,
) -> QueryResult<()> {
    let row = (
        networks::network_id.eq(network_id),
        networks::name.eq(Some(meraki_id)),
        networks::time_zone.eq(DEFAULT_TIME_ZONE),
        networks::vendor.eq(Some(Vendor::Meraki.as_str())),
        networks::meraki_id.eq(Some(meraki_id)),
    );
    on_each_backend!(conn, |conn| diesel::insert_into(networks::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(conn))?;
    // A network named by an operator before its first post keeps its name.
    diesel::update(
        networks::table
            .find(network_id)
            .filter(networks::meraki_id.is_null()),
    )
    .set((
        networks::vendor.eq(Some(Vendor::Meraki.as_str())),
        networks::meraki_id.eq(Some(meraki_id)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Sets an access point's name and zone (it may be named before it reports).
pub fn put_node(
    conn: &mut Conn,
    node_mac: &str,
    name: Option<&str>,
    zone: Option<&str>,
) -> QueryResult<NodeLabel> {
    let row = (
        node_labels::node_mac.eq(node_mac),
        node_labels::name.eq(name),
        node_labels::zone.eq(zone),
    );
    on_each_backend!(conn, |conn| diesel::insert_into(node_labels::table)
        .values(row)
        .on_conflict(node_labels::node_mac)
        .do_update()
        .set((
            node_labels::name.eq(excluded(node_labels::name)),
            node_labels::zone.eq(excluded(node_labels::zone)),
        ))
        .execute(conn))?;
    Ok(NodeLabel {
        node_mac: node_mac.to_string(),
        name: name.map(str::to_string),
        zone: zone.map(str::to_string),
    })
}

/// The networks that have reported or been named, by id.
pub fn networks(conn: &mut Conn) -> QueryResult<Vec<Network>> {
    let reporting = nodes::table
        .group_by(nodes::network_id)
        .select((nodes::network_id, count_star(), max(nodes::last_report_at)))
        .load::<(i64, i64, Option<i64>)>(conn)?;
    let named = networks::table
        .select((
            networks::network_id,
            networks::name,
            networks::time_zone,
            networks::vendor,
            networks::meraki_id,
            networks::opening_hours,
        ))
        .load::<(
            i64,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        )>(conn)?;
    let mut all: BTreeMap<i64, Network> = BTreeMap::new();
    for (network_id, nodes, last_report_at) in reporting {
        all.insert(
            network_id,
            Network {
                network_id,
                vendor: Vendor::default(),
                meraki_id: None,
                name: None,
                time_zone: DEFAULT_TIME_ZONE.to_string(),
                opening_hours: None,
                nodes,
                last_report_at,
            },
        );
    }
    for (network_id, name, time_zone, vendor, meraki_id, hours) in named {
        let entry = all.entry(network_id).or_insert(Network {
            network_id,
            vendor: Vendor::default(),
            meraki_id: None,
            name: None,
            time_zone: String::new(),
            opening_hours: None,
            nodes: 0,
            last_report_at: None,
        });
        entry.name = name;
        entry.time_zone = time_zone;
        entry.vendor = vendor
            .as_deref()
            .and_then(Vendor::parse)
            .unwrap_or_default();
        entry.meraki_id = meraki_id;
        entry.opening_hours = stored_hours(hours.as_deref());
    }
    Ok(all.into_values().collect())
}

/// The access points in `zone`, sorted.
pub fn zone_nodes(conn: &mut Conn, zone: &str) -> QueryResult<Vec<String>> {
    node_labels::table
        .filter(node_labels::zone.eq(zone))
        .select(node_labels::node_mac)
        .order(node_labels::node_mac)
        .load(conn)
}

/// The access points that have reported in `network_id`, sorted.
pub fn nodes_of_network(conn: &mut Conn, network_id: i64) -> QueryResult<Vec<String>> {
    nodes::table
        .filter(nodes::network_id.eq(network_id))
        .select(nodes::node_mac)
        .order(nodes::node_mac)
        .load(conn)
}

/// Every network an access point has reported in, once each.
pub fn reporting_networks(conn: &mut Conn) -> QueryResult<Vec<i64>> {
    nodes::table
        .select(nodes::network_id)
        .distinct()
        .order(nodes::network_id)
        .load(conn)
}

/// The networks an access point has reported in (one, unless it was moved).
pub fn networks_of_node(conn: &mut Conn, node_mac: &str) -> QueryResult<Vec<i64>> {
    nodes::table
        .filter(nodes::node_mac.eq(node_mac))
        .select(nodes::network_id)
        .load(conn)
}

/// The networks a request covers: the one it names; else those its access points (an
/// access point's, a zone's) have reported in; else every network that has reported.
pub fn scope_networks(
    conn: &mut Conn,
    network_id: Option<i64>,
    node_macs: Option<&[String]>,
) -> QueryResult<Vec<i64>> {
    match (network_id, node_macs) {
        (Some(network_id), _) => Ok(vec![network_id]),
        (None, Some(node_macs)) => nodes::table
            .filter(nodes::node_mac.eq_any(node_macs))
            .select(nodes::network_id)
            .distinct()
            .load(conn),
        (None, None) => nodes::table.select(nodes::network_id).distinct().load(conn),
    }
}

/// The time zone figures are counted in when a request names none: the network's;
/// for a request over several networks (`networks`, from [`scope_networks`]), theirs
/// when they share one, else UTC.
pub fn default_time_zone(directory: &Directory, networks: &[i64]) -> String {
    let mut zones: Vec<&str> = networks.iter().map(|id| directory.time_zone(*id)).collect();
    zones.sort_unstable();
    zones.dedup();
    match zones.as_slice() {
        [only] => (*only).to_string(),
        _ => DEFAULT_TIME_ZONE.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::migrated;

    #[test]
    fn names_zones_and_time_zones_round_trip() {
        let (_dir, mut conn) = migrated();
        let hours = OpeningHours {
            mon: vec!["09:00-17:00".to_string()],
            ..OpeningHours::default()
        };
        put_network(
            &mut conn,
            7,
            Some("Store"),
            "America/New_York",
            Some(&hours),
        )
        .unwrap();
        assert_eq!(directory(&mut conn).unwrap().opening_hours(7), Some(&hours));
        assert_eq!(
            networks(&mut conn).unwrap()[0].opening_hours.as_ref(),
            Some(&hours)
        );
        put_network(&mut conn, 7, None, "Europe/Berlin", None).unwrap();
        put_node(
            &mut conn,
            "ac:00:00:00:00:01",
            Some("Entrance"),
            Some("Ground"),
        )
        .unwrap();
        put_node(&mut conn, "ac:00:00:00:00:02", None, Some("Ground")).unwrap();
        put_node(&mut conn, "ac:00:00:00:00:03", Some("Cafe"), None).unwrap();
        let directory = directory(&mut conn).unwrap();
        assert_eq!(directory.network_name(7), None);
        assert_eq!(directory.time_zone(7), "Europe/Berlin");
        assert_eq!(directory.time_zone(8), "UTC");
        assert_eq!(directory.opening_hours(7), None);
        assert_eq!(
            directory.node_name("ac:00:00:00:00:01").as_deref(),
            Some("Entrance")
        );
        assert_eq!(directory.zone("ac:00:00:00:00:03"), None);
        assert_eq!(
            zone_nodes(&mut conn, "Ground").unwrap(),
            ["ac:00:00:00:00:01", "ac:00:00:00:00:02"]
        );
        assert!(zone_nodes(&mut conn, "ground").unwrap().is_empty());
        let networks = networks(&mut conn).unwrap();
        assert_eq!(networks.len(), 1);
        assert_eq!((networks[0].nodes, networks[0].last_report_at), (0, None));
    }
}
