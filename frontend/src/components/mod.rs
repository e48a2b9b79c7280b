//! Props in, HTML out: no component here fetches anything.

pub mod chart;
pub mod clock;
pub mod filter_form;
pub mod nav_link;
pub mod node_health;
pub mod notice;
pub mod pager;
pub mod privacy_note;
pub mod probe_table;
