// The tables of `migrations/`, for diesel. Kept by hand: it must match the migrations,
// which `db::tests::schema_matches_migrations` checks against a migrated database.

diesel::table! {
    reports (id) {
        id -> BigInt,
        network_id -> BigInt,
        node_mac -> Text,
        version -> Integer,
        received_at -> BigInt,
        probe_request_count -> Integer,
        stored_count -> Integer,
        duplicate_count -> Integer,
    }
}

diesel::table! {
    nodes (network_id, node_mac) {
        network_id -> BigInt,
        node_mac -> Text,
        first_report_at -> BigInt,
        last_report_at -> BigInt,
        reports -> BigInt,
        probe_requests -> BigInt,
        silent_since -> Nullable<BigInt>,
    }
}

diesel::table! {
    probe_requests (id) {
        id -> BigInt,
        report_id -> BigInt,
        network_id -> BigInt,
        node_mac -> Text,
        mac -> Text,
        count -> BigInt,
        min_signal -> Integer,
        max_signal -> Integer,
        avg_signal -> Integer,
        last_seen_signal -> Nullable<Integer>,
        first_seen -> BigInt,
        last_seen -> BigInt,
        associated -> Bool,
        randomized -> Bool,
    }
}

// SQLite only: the next id of a probe request (see `partitions`).
diesel::table! {
    probe_request_ids (next) {
        next -> BigInt,
    }
}

diesel::joinable!(probe_requests -> reports (report_id));
diesel::allow_tables_to_appear_in_same_query!(
    networks,
    node_labels,
    nodes,
    presence_segments,
    probe_requests,
    reports,
    rejections
);
diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(sessions, users);

diesel::table! {
    rejections (id) {
        id -> BigInt,
        received_at -> BigInt,
        status -> Integer,
        reason -> Text,
        detail -> Text,
        field -> Nullable<Text>,
        network_id -> Nullable<BigInt>,
        node_mac -> Nullable<Text>,
        body_prefix -> Text,
    }
}

diesel::table! {
    presence_segments (day, network_id, mac, first_seen) {
        day -> BigInt,
        network_id -> BigInt,
        mac -> BigInt,
        first_seen -> BigInt,
        segment -> Binary,
    }
}

diesel::table! {
    presence_progress (id) {
        id -> Integer,
        through_id -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        role -> Text,
        password_hash -> Text,
        created_at -> BigInt,
        password_changed_at -> BigInt,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        name -> Text,
        role -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Text,
        user_id -> BigInt,
        created_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    opt_outs (mac_hash) {
        mac_hash -> Text,
        created_at -> BigInt,
        created_by -> Text,
    }
}

diesel::table! {
    networks (network_id) {
        network_id -> BigInt,
        name -> Nullable<Text>,
        time_zone -> Text,
        vendor -> Nullable<Text>,
        meraki_id -> Nullable<Text>,
        opening_hours -> Nullable<Text>,
    }
}

diesel::table! {
    node_labels (node_mac) {
        node_mac -> Text,
        name -> Nullable<Text>,
        zone -> Nullable<Text>,
    }
}

diesel::table! {
    alert_receivers (receiver) {
        receiver -> Text,
        seen_at -> BigInt,
    }
}

diesel::table! {
    alert_deliveries (id) {
        id -> BigInt,
        receiver -> Text,
        body -> Text,
        created_at -> BigInt,
        attempts -> Integer,
        next_attempt_ms -> BigInt,
        delivered_at -> Nullable<BigInt>,
        abandoned_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    sources (name) {
        name -> Text,
        vendor -> Text,
        validator -> Text,
        secret_sha256 -> Text,
        created_at -> BigInt,
        created_by -> Text,
    }
}

diesel::table! {
    devices (mac) {
        mac -> Text,
        manufacturer -> Nullable<Text>,
        os -> Nullable<Text>,
        ssid -> Nullable<Text>,
        seen_at -> BigInt,
    }
}
diesel::table! {
    ground_truth (id) {
        id -> BigInt,
        network_id -> BigInt,
        zone -> Nullable<Text>,
        since -> BigInt,
        until -> BigInt,
        people -> BigInt,
        source -> Text,
        created_at -> BigInt,
        created_by -> Text,
    }
}
