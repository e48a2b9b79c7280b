//! Storing a validated report: the report record, its probe requests and the access
//! point's running totals, in one transaction.

use api_types::IngestResult;
use diesel::prelude::*;

use super::Conn;
use diesel::upsert::excluded;

use super::schema::{nodes, probe_requests, reports};
use ncompass_core::cloudtrax::Report;

/// Stores `report`, received at `received_at` (Unix seconds), all or nothing.
///
/// A probe request whose observation (network, node, client MAC, first and last seen)
/// is already stored is counted as a duplicate and not stored again, so posting the
/// same report twice stores it once.
pub fn store(conn: &mut Conn, report: &Report, received_at: i64) -> QueryResult<IngestResult> {
    super::write_transaction(conn, |conn| {
        let mut results = store_in_transaction(conn, &[(report, received_at)])?;
        Ok(results.remove(0))
    })
}

/// The statements of [`store`] for several reports (each with the time it was
/// received), for a caller that holds the transaction: the writer commits a batch in
/// one. The presence segments follow later (`presence::catch_up`).
pub fn store_in_transaction(
    conn: &mut Conn,
    reports: &[(&Report, i64)],
) -> QueryResult<Vec<IngestResult>> {
    reports
        .iter()
        .map(|(report, received_at)| store_rows(conn, report, *received_at))
        .collect()
}

/// An observation's place in the idempotency key `probe_requests_observation` after
/// its network and access point: (last_seen, client MAC, first_seen).
fn key(probe: &ncompass_core::cloudtrax::ProbeRequest) -> (i64, u64, i64) {
    (probe.last_seen, probe.mac.to_u64(), probe.first_seen)
}

/// The order reports of a batch are stored in: by access point, then by first
/// observation in key order (see `pipeline::commit`).
pub fn order_key(report: &Report) -> (i64, u64, Option<(i64, u64, i64)>) {
    let first = report.probe_requests.iter().map(key).min();
    (report.network_id, report.node_mac.to_u64(), first)
}

/// One access point's reports in one slot of time.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct SlotCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub network_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub node_mac: String,
    /// The slot's start, Unix seconds (a multiple of its width).
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub slot: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub reports: i64,
}

/// The reports received in `[since, until)`, of one network if given, counted per
/// access point and UTC slot of `slot_s` seconds (positive; not a bind parameter, so
/// that both backends group by the same expression). Served by
/// `reports_by_received_at` (or `reports_by_node` for one network).
pub fn slot_counts(
    conn: &mut Conn,
    since: i64,
    until: i64,
    slot_s: i64,
    network_id: Option<i64>,
    node_macs: Option<&[String]>,
) -> QueryResult<Vec<SlotCount>> {
    let slot_s = slot_s.max(1);
    let mut placeholders = super::placeholders::Placeholders::of(conn);
    let (from, to) = (placeholders.next(), placeholders.next());
    let mut network = match network_id {
        Some(_) => format!(" AND network_id = {}", placeholders.next()),
        None => String::new(),
    };
    if let Some(macs) = node_macs {
        // Written out, not bound: a MAC in canonical form is hex digits and colons
        // only, so it cannot break out of its quotes; others are left out.
        let list: Vec<String> = macs
            .iter()
            .filter_map(|mac| ncompass_core::mac::Mac::parse(mac))
            .map(|mac| format!("'{}'", mac.canonical().as_str()))
            .collect();
        let list = if list.is_empty() {
            "NULL".to_string()
        } else {
            list.join(", ")
        };
        network.push_str(&format!(" AND node_mac IN ({list})"));
    }
    let slot = format!("(received_at - received_at % {slot_s})");
    let sql = format!(
        "SELECT network_id, node_mac, {slot} AS slot, COUNT(*) AS reports FROM reports \
         WHERE received_at >= {from} AND received_at < {to}{network} \
         GROUP BY network_id, node_mac, {slot}"
    );
    use diesel::sql_types::BigInt;
    let query = diesel::sql_query(sql)
        .bind::<BigInt, _>(since)
        .bind::<BigInt, _>(until);
    match network_id {
        Some(network_id) => query.bind::<BigInt, _>(network_id).load(conn),
        None => query.load(conn),
    }
}

/// When the oldest report still kept was received (retention deletes older ones).
pub fn oldest_received(conn: &mut Conn) -> QueryResult<Option<i64>> {
    reports::table
        .select(diesel::dsl::min(reports::received_at))
        .get_result(conn)
}

/// A report's record, rows and access point totals.
fn store_rows(conn: &mut Conn, report: &Report, received_at: i64) -> QueryResult<IngestResult> {
    let node_mac = report.node_mac.canonical();
    let node_mac = node_mac.as_str();
    let received = i32::try_from(report.probe_requests.len()).unwrap_or(i32::MAX);
    let report_id: i64 = diesel::insert_into(reports::table)
        .values((
            reports::network_id.eq(report.network_id),
            reports::node_mac.eq(node_mac),
            reports::version.eq(i32::try_from(report.version).unwrap_or(i32::MAX)),
            reports::received_at.eq(received_at),
            reports::probe_request_count.eq(received),
            reports::stored_count.eq(0),
            reports::duplicate_count.eq(0),
        ))
        .returning(reports::id)
        .get_result(conn)?;

    // SQLite: into the rows' day partitions, one prepared statement a partition,
    // executed per row (no round trip: SQLite runs in this process); see
    // `partitions::insert`. `INSERT OR IGNORE` differs from `ON CONFLICT DO NOTHING`
    // only for NOT NULL and CHECK violations, which these typed rows cannot have; what
    // it ignores is the observation's unique index, i.e. duplicates.
    // PostgreSQL: a round trip per statement dominates, so the report's rows go in one
    // `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING` on the same index: a
    // column an array, so the statement has 13 parameters whatever the report's size
    // (diesel sends a hand-written statement unprepared, so PostgreSQL parses and plans
    // it for every report either way; a multi-row VALUES list of 13 parameters a row
    // makes that work grow with the rows, and needs chunks under 65,535 parameters).
    use probe_requests as p;
    // In key order (the report's network and access point are fixed): see order_key.
    let mut probes: Vec<_> = report.probe_requests.iter().collect();
    probes.sort_by_key(|probe| key(probe));
    let macs: Vec<_> = probes.iter().map(|probe| probe.mac.canonical()).collect();
    let mut stored = 0;
    match conn {
        Conn::Sqlite(conn) => {
            stored += crate::partitions::insert(
                conn,
                &crate::partitions::ReportRows {
                    report_id,
                    network_id: report.network_id,
                    node_mac,
                    probes: &probes,
                    macs: &macs,
                },
                received_at,
            )?;
        }
        // An empty report (the access point's heartbeat) has no rows to send.
        Conn::Postgres(_) if probes.is_empty() => {}
        Conn::Postgres(conn) => {
            use crate::placeholders::column;
            use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text};
            stored += diesel::sql_query(
                "INSERT INTO probe_requests (report_id, network_id, node_mac, mac, count, \
                 min_signal, max_signal, avg_signal, last_seen_signal, first_seen, last_seen, \
                 associated, randomized) \
                 SELECT $1, $2, $3, * FROM unnest($4::text[], $5::int8[], $6::int4[], \
                 $7::int4[], $8::int4[], $9::int4[], $10::int8[], $11::int8[], $12::bool[], \
                 $13::bool[]) \
                 ON CONFLICT DO NOTHING",
            )
            .bind::<BigInt, _>(report_id)
            .bind::<BigInt, _>(report.network_id)
            .bind::<Text, _>(node_mac)
            .bind::<Array<Text>, _>(macs.iter().map(|mac| mac.as_str()).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(column(&probes, |probe| probe.count))
            .bind::<Array<Integer>, _>(column(&probes, |probe| probe.min_signal))
            .bind::<Array<Integer>, _>(column(&probes, |probe| probe.max_signal))
            .bind::<Array<Integer>, _>(column(&probes, |probe| probe.avg_signal))
            .bind::<Array<Nullable<Integer>>, _>(column(&probes, |probe| probe.last_seen_signal))
            .bind::<Array<BigInt>, _>(column(&probes, |probe| probe.first_seen))
            .bind::<Array<BigInt>, _>(column(&probes, |probe| probe.last_seen))
            .bind::<Array<Bool>, _>(column(&probes, |probe| probe.associated))
            .bind::<Array<Bool>, _>(column(&probes, |probe| probe.randomized))
            .execute(conn)?;
        }
    }
    let stored = i32::try_from(stored).unwrap_or(i32::MAX);
    let duplicates = received - stored;

    // Every observation was stored before: a re-sent body, or a captured one replayed
    // (the signature has no nonce). It keeps no record of its own and is no sign that
    // the access point is alive, so replaying an old report cannot hide a silent one;
    // the answer names the report that stored its observations. (An empty report
    // cannot be told from its replay: it is counted, as the access point's heartbeat.)
    if stored == 0 && received > 0 {
        diesel::delete(reports::table.find(report_id)).execute(conn)?;
        let first = probes[0];
        let original: Option<i64> = p::table
            .filter(p::network_id.eq(report.network_id))
            .filter(p::node_mac.eq(node_mac))
            .filter(p::mac.eq(macs[0].as_str()))
            .filter(p::first_seen.eq(first.first_seen))
            .filter(p::last_seen.eq(first.last_seen))
            .select(p::report_id)
            .first(conn)
            .optional()?;
        return Ok(IngestResult {
            report_id: original.unwrap_or(report_id),
            received: i64::from(received),
            stored: 0,
            duplicates: i64::from(duplicates),
        });
    }

    diesel::update(reports::table.find(report_id))
        .set((
            reports::stored_count.eq(stored),
            reports::duplicate_count.eq(duplicates),
        ))
        .execute(conn)?;

    let node = (
        nodes::network_id.eq(report.network_id),
        nodes::node_mac.eq(node_mac),
        nodes::first_report_at.eq(received_at),
        nodes::last_report_at.eq(received_at),
        nodes::reports.eq(1_i64),
        nodes::probe_requests.eq(i64::from(stored)),
    );
    let totals = (
        // The later of the two: with several instances an older report can commit
        // after a newer one.
        nodes::last_report_at.eq(diesel::dsl::case_when(
            excluded(nodes::last_report_at).gt(nodes::last_report_at),
            excluded(nodes::last_report_at),
        )
        .otherwise(nodes::last_report_at)),
        nodes::reports.eq(nodes::reports + 1),
        nodes::probe_requests.eq(nodes::probe_requests + excluded(nodes::probe_requests)),
    );
    on_each_backend!(conn, |conn| diesel::insert_into(nodes::table)
        .values(node)
        .on_conflict((nodes::network_id, nodes::node_mac))
        .do_update()
        .set(totals)
        .execute(conn)?);

    Ok(IngestResult {
        report_id,
        received: i64::from(received),
        stored: i64::from(stored),
        duplicates: i64::from(duplicates),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tests::migrated;
    use ncompass_core::cloudtrax::{parse_report, TimeRules};

    const SAMPLE: &[u8] = ncompass_core::cloudtrax::samples::V1;

    fn count(conn: &mut Conn) -> i64 {
        probe_requests::table.count().get_result(conn).unwrap()
    }

    #[test]
    fn stores_every_probe_request_once() {
        let (_dir, mut conn) = migrated();
        let report =
            parse_report(SAMPLE, &TimeRules::at(ncompass_core::clock::unix_now())).unwrap();
        let first = store(&mut conn, &report, 1000).unwrap();
        assert_eq!((first.received, first.stored, first.duplicates), (5, 5, 0));
        let again = store(&mut conn, &report, 1030).unwrap();
        assert_eq!((again.received, again.stored, again.duplicates), (5, 0, 5));
        assert_eq!(
            again.report_id, first.report_id,
            "names the report that stored them"
        );
        assert_eq!(count(&mut conn), 5);

        let node: (i64, i64, i64, i64) = nodes::table
            .select((
                nodes::first_report_at,
                nodes::last_report_at,
                nodes::reports,
                nodes::probe_requests,
            ))
            .get_result(&mut conn)
            .unwrap();
        // The re-sent report is no sign of life and keeps no record of its own.
        assert_eq!(node, (1000, 1000, 1, 5));
        let counts: Vec<(i32, i32, i32)> = reports::table
            .order(reports::id)
            .select((
                reports::probe_request_count,
                reports::stored_count,
                reports::duplicate_count,
            ))
            .load(&mut conn)
            .unwrap();
        assert_eq!(counts, [(5, 5, 0)]);

        // A report with one new observation among old ones is new: counted, alive.
        let mut partly = report.clone();
        partly.probe_requests[0].last_seen += 1;
        let third = store(&mut conn, &partly, 1060).unwrap();
        assert_eq!((third.stored, third.duplicates), (1, 4));
        assert_ne!(third.report_id, first.report_id);
        let last: i64 = nodes::table
            .select(nodes::last_report_at)
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(last, 1060);

        // An empty report (an access point that hears no one) is its heartbeat.
        let mut empty = report.clone();
        empty.probe_requests.clear();
        store(&mut conn, &empty, 1090).unwrap();
        store(&mut conn, &empty, 1120).unwrap();
        let (last, reports): (i64, i64) = nodes::table
            .select((nodes::last_report_at, nodes::reports))
            .get_result(&mut conn)
            .unwrap();
        assert_eq!((last, reports), (1120, 4));
    }

    #[test]
    fn an_older_report_stored_later_keeps_the_latest_report_time() {
        let (_dir, mut conn) = migrated();
        let report =
            parse_report(SAMPLE, &TimeRules::at(ncompass_core::clock::unix_now())).unwrap();
        store(&mut conn, &report, 2000).unwrap();
        let mut older = report.clone();
        for probe in &mut older.probe_requests {
            probe.first_seen -= 60;
            probe.last_seen -= 60;
        }
        store(&mut conn, &older, 1000).unwrap();
        let (first, last): (i64, i64) = nodes::table
            .select((nodes::first_report_at, nodes::last_report_at))
            .get_result(&mut conn)
            .unwrap();
        assert_eq!((first, last), (2000, 2000));
    }

    #[test]
    fn a_failing_report_stores_nothing() {
        let (_dir, mut conn) = migrated();
        // A trigger that fails on the third row stands in for any error mid-report (the
        // sample's rows are of 2016, a day with no partition: the default table's).
        diesel::sql_query(
            "CREATE TRIGGER fail_third AFTER INSERT ON probe_requests_default \
             WHEN (SELECT count(*) FROM probe_requests_default) = 3 \
             BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        )
        .execute(&mut conn)
        .unwrap();
        let report =
            parse_report(SAMPLE, &TimeRules::at(ncompass_core::clock::unix_now())).unwrap();
        assert!(store(&mut conn, &report, 1000).is_err());
        assert_eq!(count(&mut conn), 0);
        assert_eq!(
            reports::table.count().get_result::<i64>(&mut conn).unwrap(),
            0
        );
        assert_eq!(
            nodes::table.count().get_result::<i64>(&mut conn).unwrap(),
            0
        );
    }

    #[test]
    fn stores_a_report_of_1234_rows_whole() {
        let (_dir, mut conn) = migrated();
        let mut report =
            parse_report(SAMPLE, &TimeRules::at(ncompass_core::clock::unix_now())).unwrap();
        let template = report.probe_requests[0].clone();
        report.probe_requests = (0..1234)
            .map(|i| {
                let mut probe = template.clone();
                probe.first_seen = i;
                probe.last_seen = i;
                probe
            })
            .collect();
        let result = store(&mut conn, &report, 1000).unwrap();
        assert_eq!((result.stored, result.duplicates), (1234, 0));
        assert_eq!(count(&mut conn), 1234);
    }

    /// Applies every migration up to, not including, the one named `before`: the schema
    /// of the release before it.
    pub(crate) fn migrate_until(conn: &mut Conn, before: &str) {
        use diesel_migrations::MigrationHarness;
        fn run<H, DB>(harness: &mut H, source: diesel_migrations::EmbeddedMigrations, before: &str)
        where
            DB: diesel::backend::Backend,
            H: MigrationHarness<DB>,
        {
            for migration in harness.pending_migrations(source).unwrap() {
                if migration.name().to_string().contains(before) {
                    return;
                }
                harness.run_migration(&*migration).unwrap();
            }
            panic!("no migration named {before}");
        }
        match conn {
            Conn::Sqlite(conn) => run(conn, crate::SQLITE_MIGRATIONS, before),
            Conn::Postgres(conn) => run(conn, crate::POSTGRES_MIGRATIONS, before),
        }
    }

    /// The idempotency key's columns, in order (on SQLite, of the key named `sqlite`).
    fn observation_key(conn: &mut Conn, sqlite: &str) -> String {
        #[derive(diesel::QueryableByName)]
        struct Key {
            #[diesel(sql_type = diesel::sql_types::Text)]
            key: String,
        }
        let sql = match conn {
            Conn::Sqlite(_) => format!(
                "SELECT group_concat(name, ', ') AS key FROM \
                 (SELECT name FROM pragma_index_info('{sqlite}') ORDER BY seqno)"
            ),
            Conn::Postgres(_) => {
                "SELECT substring(pg_get_indexdef('probe_requests_observation'::regclass) \
                 FROM '\\((.*)\\)') AS key"
                    .to_string()
            }
        };
        diesel::sql_query(sql).get_result::<Key>(conn).unwrap().key
    }

    /// Stores `report` as a release before the SQLite day partitions did (into the one
    /// table `probe_requests`, ids from the table). PostgreSQL: as today.
    pub(crate) fn store_as_before(conn: &mut Conn, report: &Report, received_at: i64) {
        let Conn::Sqlite(sqlite) = conn else {
            store(conn, report, received_at).unwrap();
            return;
        };
        use probe_requests as p;
        let report_id: i64 = diesel::insert_into(reports::table)
            .values((
                reports::network_id.eq(report.network_id),
                reports::node_mac.eq(report.node_mac.canonical().as_str()),
                reports::version.eq(1),
                reports::received_at.eq(received_at),
                reports::probe_request_count.eq(report.probe_requests.len() as i32),
                reports::stored_count.eq(report.probe_requests.len() as i32),
                reports::duplicate_count.eq(0),
            ))
            .returning(reports::id)
            .get_result(sqlite)
            .unwrap();
        for probe in &report.probe_requests {
            diesel::insert_or_ignore_into(p::table)
                .values((
                    p::report_id.eq(report_id),
                    p::network_id.eq(report.network_id),
                    p::node_mac.eq(report.node_mac.canonical().as_str()),
                    p::mac.eq(probe.mac.canonical().as_str()),
                    p::count.eq(probe.count),
                    p::min_signal.eq(probe.min_signal),
                    p::max_signal.eq(probe.max_signal),
                    p::avg_signal.eq(probe.avg_signal),
                    p::last_seen_signal.eq(probe.last_seen_signal),
                    p::first_seen.eq(probe.first_seen),
                    p::last_seen.eq(probe.last_seen),
                    p::associated.eq(probe.associated),
                    p::randomized.eq(probe.randomized),
                ))
                .execute(sqlite)
                .unwrap();
        }
    }

    /// A database of the release before the key's new order is upgraded in place: every
    /// row kept, the key rebuilt in the new order, and what was stored before is still
    /// a duplicate after.
    fn upgrade_keeps_the_rows_and_their_idempotency(url: &str) {
        let mut conn = crate::connect(url).unwrap();
        migrate_until(&mut conn, "observation_key_by_time");
        assert_eq!(
            observation_key(&mut conn, "probe_requests_observation"),
            "network_id, node_mac, mac, first_seen, last_seen"
        );
        crate::partitions::ensure(&mut conn, ncompass_core::clock::unix_now()).unwrap();
        let report =
            parse_report(SAMPLE, &TimeRules::at(ncompass_core::clock::unix_now())).unwrap();
        store_as_before(&mut conn, &report, 1000);
        assert_eq!(count(&mut conn), 5);
        drop(conn);

        // Exactly the migrations since: the key's reordering, the Meraki sources, on
        // SQLite the day partitions, the opening hours and the ground truth.
        let mut since = vec!["20261207000000", "20261208000000"];
        if crate::Kind::of(url) == crate::Kind::Sqlite {
            since.push("20261209000000");
        }
        since.push("20261210000000");
        since.push("20261211000000");
        assert_eq!(crate::migrate(url).unwrap(), since);
        let mut conn = crate::connect(url).unwrap();
        // The sample's rows are of 2016: older than the days the upgrade keeps apart.
        assert_eq!(
            observation_key(&mut conn, "probe_requests_default_observation"),
            "network_id, node_mac, last_seen, mac, first_seen"
        );
        assert_eq!(count(&mut conn), 5);
        let again = store(&mut conn, &report, 1030).unwrap();
        assert_eq!((again.stored, again.duplicates), (0, 5));
        let mut later = report.clone();
        for probe in &mut later.probe_requests {
            probe.last_seen += 30;
        }
        assert_eq!(store(&mut conn, &later, 1060).unwrap().stored, 5);
        assert_eq!(count(&mut conn), 10);
    }

    #[test]
    fn an_sqlite_file_of_the_previous_release_is_upgraded_in_place() {
        let dir = tempfile::tempdir().unwrap();
        upgrade_keeps_the_rows_and_their_idempotency(dir.path().join("old.db").to_str().unwrap());
    }

    #[test]
    #[ignore = "PostgreSQL only: scripts/test-postgres.sh runs it (make test) with --ignored"]
    fn postgres_database_of_the_previous_release_is_upgraded_in_place() {
        let url = crate::tests::postgres_database("ncompass_upgrade");
        upgrade_keeps_the_rows_and_their_idempotency(&url);
    }
}
