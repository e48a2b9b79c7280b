//! State and data loading shared by the pages.

pub mod fetch;
pub mod latest;
pub mod paging;
pub mod refresh;
pub mod scroll;
pub mod title;
