//! Every PostgreSQL advisory lock key of the project, in one place so that no two
//! concerns ever share a key by accident. (SQLite has one writer at a time; these
//! serialize what several instances on one PostgreSQL database would otherwise do at
//! once.) Each key spells its purpose in ASCII after the project's prefix `ncompas`.

/// Held (session level) while migrating, so that instances starting at once migrate
/// one after the other (the later ones find nothing to do).
pub const MIGRATION: i64 = 0x6e63_6f6d_7061_7301;

/// Held (for a transaction) while creating the coming days' partitions.
pub const PARTITIONS: i64 = 0x6e63_6f6d_7061_7302;

/// The presence merge: one instance merges at a time (tried, never waited for).
pub const PRESENCE_MERGE: i64 = 0x6e63_6f6d_7061_7303;

/// The opt-out list: shared by writers that read it, exclusive for a change of it
/// (see `opt_outs`).
pub const OPT_OUT_LIST: i64 = 0x6e63_6f6d_7061_7304;

#[cfg(test)]
mod tests {
    #[test]
    fn every_key_is_distinct() {
        let mut keys = [
            super::MIGRATION,
            super::PARTITIONS,
            super::PRESENCE_MERGE,
            super::OPT_OUT_LIST,
        ];
        keys.sort_unstable();
        let before = keys.len();
        let mut distinct = keys.to_vec();
        distinct.dedup();
        assert_eq!(distinct.len(), before);
    }
}
