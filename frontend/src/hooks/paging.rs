//! Where a page of the probe-request list stands: its number, and the cursor of the page
//! before it (for "Newer"). The number is in the URL (`page`), so a link shows the same
//! label; the cursor before is kept per browser tab in `sessionStorage`, keyed by the
//! page's query (filters, size and cursor), so Back, Forward and reload find it too. A
//! link opened in another tab knows its number but not the page before: "Newer" then
//! goes to the newest page.

use api_types::ProbeRequestQuery;

use crate::query;

const KEY_PREFIX: &str = "ncompass.page?";

/// A page's place in the walk that reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// 1 for the newest page.
    pub number: usize,
    /// The cursor of the page before (None: the newest page).
    pub previous: Option<String>,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

fn key(query: &ProbeRequestQuery) -> String {
    format!("{KEY_PREFIX}{}", query::to_query_string(query))
}

/// The place of `query`'s page: the newest page is 1; a deeper one is known when this
/// tab walked to it, or by its number alone from the URL (`url_page`).
pub fn place(query: &ProbeRequestQuery, url_page: Option<usize>) -> Option<Place> {
    if query.cursor.is_none() {
        return Some(Place {
            number: 1,
            previous: None,
        });
    }
    let walked = storage()
        .and_then(|storage| storage.get_item(&key(query)).ok().flatten())
        .and_then(|value| decode(&value));
    walked.or_else(|| {
        url_page.map(|number| Place {
            number,
            previous: None,
        })
    })
}

/// Records that `next` (an older page) follows `current` (at `here`); returns the
/// number of `next`.
pub fn record_next(
    current: &ProbeRequestQuery,
    here: Option<&Place>,
    next: &ProbeRequestQuery,
) -> Option<usize> {
    let here = here?;
    if let Some(storage) = storage() {
        let value = encode(&Place {
            number: here.number + 1,
            previous: current.cursor.clone(),
        });
        // A full or disabled storage only costs "Newer" its page after a reload.
        let _ = storage.set_item(&key(next), &value);
    }
    Some(here.number + 1)
}

/// `"3 CURSOR"`, or `"2"` when the page before is the newest.
fn encode(place: &Place) -> String {
    match &place.previous {
        Some(cursor) => format!("{} {cursor}", place.number),
        None => place.number.to_string(),
    }
}

fn decode(value: &str) -> Option<Place> {
    let (number, previous) = match value.split_once(' ') {
        Some((number, cursor)) => (number, Some(cursor.to_string())),
        None => (value, None),
    };
    Some(Place {
        number: number.parse().ok().filter(|n| *n >= 1)?,
        previous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_reads_back_as_written() {
        for place in [
            Place {
                number: 2,
                previous: None,
            },
            Place {
                number: 17,
                previous: Some("MTQ1NTg0NTgxOToy".to_string()),
            },
        ] {
            assert_eq!(decode(&encode(&place)), Some(place));
        }
        assert_eq!(decode("0"), None);
        assert_eq!(decode("x y"), None);
    }
}
