//! The command line's `ground-truth` command: importing counts of people from a CSV
//! file, all or nothing, on the same database as a running server.

use std::io::Read;

use api_types::NewGroundTruth;

use super::accounts::{audit, operator};
use crate::app::config::{GroundTruthCommand, Settings};
use crate::db::{self, Database};
use crate::http::routes::ground_truth::check;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The header an import file starts with.
pub const HEADER: &str = "network_id,zone,since,until,people,source";
/// The most lines one import reads.
pub const MAX_LINES: usize = 100_000;

/// Runs a `ground-truth` command.
pub fn run(command: &GroundTruthCommand, settings: &Settings) -> Result<(), Error> {
    match command {
        GroundTruthCommand::Import { file } => {
            let mut text = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text)?;
            } else {
                text = std::fs::read_to_string(file)
                    .map_err(|error| format!("cannot read {}: {error}", file.display()))?;
            }
            let entries = parse(&text, crate::unix_now()).map_err(|errors| errors.join("\n"))?;
            let db = Database::open(&settings.database, 1)?;
            let by = format!("cli:{}", operator());
            let ids = db.run_blocking(|conn| {
                db::ground_truth::add_all(conn, &entries, crate::unix_now(), &by)
            })?;
            audit(&format!("imported {} ground-truth counts", ids.len()));
            eprintln!(
                "imported {} ground-truth counts (ids {}..={})",
                ids.len(),
                ids.first().copied().unwrap_or(0),
                ids.last().copied().unwrap_or(0)
            );
        }
    }
    Ok(())
}

/// The counts of an import file, every line checked as the API checks a count; the
/// errors (at most 20, each with its line number) when any line is wrong.
pub fn parse(text: &str, now: i64) -> Result<Vec<NewGroundTruth>, Vec<String>> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty());
    match lines.next() {
        Some((_, header)) if header.trim().trim_start_matches('\u{feff}') == HEADER => {}
        _ => return Err(vec![format!("line 1: the header must be {HEADER}")]),
    }
    let mut entries = Vec::new();
    let mut errors = Vec::new();
    for (index, line) in lines {
        let number = index + 1;
        if entries.len() + errors.len() >= MAX_LINES {
            errors.push(format!(
                "line {number}: more than {MAX_LINES} counts; split the file"
            ));
            break;
        }
        match entry(line).and_then(|entry| {
            check(entry, now).map_err(|(field, message)| format!("{field} {message}"))
        }) {
            Ok(entry) => entries.push(entry),
            Err(message) => errors.push(format!("line {number}: {message}")),
        }
        if errors.len() >= 20 {
            break;
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// One line's fields (a source or zone holding a comma is quoted, `""` a quote).
fn entry(line: &str) -> Result<NewGroundTruth, String> {
    let fields = ncompass_core::csv::fields(line);
    let [network_id, zone, since, until, people, source] = fields.as_slice() else {
        return Err(format!("has {} fields; {HEADER} are 6", fields.len()));
    };
    let integer = |name: &str, text: &str| {
        text.trim()
            .parse::<i64>()
            .map_err(|_| format!("{name} must be an integer, got {text:?}"))
    };
    Ok(NewGroundTruth {
        network_id: integer("network_id", network_id)?,
        zone: (!zone.trim().is_empty()).then(|| zone.clone()),
        since: time("since", since)?,
        until: time("until", until)?,
        people: integer("people", people)?,
        source: source.clone(),
    })
}

/// Unix seconds, or an RFC 3339 time with its offset.
fn time(name: &str, text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    text.parse::<jiff::Timestamp>()
        .map(|at| at.as_second())
        .map_err(|_| {
            format!("{name} must be Unix seconds or a time like 2026-12-01T10:00:00+01:00, got {text:?}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_file_of_counts_is_read_with_its_times_and_quotes() {
        let text = format!(
            "{HEADER}\n\
             179283,,1764147600,1764151199,212,door counter\n\
             179283,\"Café, ground\",2025-11-26T10:00:00+01:00,2025-11-26T10:59:59+01:00,40,\"tally by \"\"Sam\"\"\"\n\n"
        );
        let entries = parse(&text, NOW).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].zone, None);
        assert_eq!((entries[0].since, entries[0].people), (1_764_147_600, 212));
        assert_eq!(entries[1].zone.as_deref(), Some("Café, ground"));
        assert_eq!(entries[1].since, 1_764_147_600);
        assert_eq!(entries[1].source, "tally by \"Sam\"");
    }

    #[test]
    fn one_bad_line_refuses_the_file_naming_each_bad_line() {
        let text = format!(
            "{HEADER}\n\
             1,,100,200,5,ok\n\
             1,,300,200,5,backwards\n\
             x,,100,200,5,not a network\n\
             1,,100,200,-1,negative\n\
             1,,100,200,5,\n\
             1,,{},{},5,future\n\
             1,,100,200\n",
            NOW - 10,
            NOW + 1
        );
        let errors = parse(&text, NOW).unwrap_err();
        assert_eq!(errors.len(), 6, "{errors:#?}");
        assert!(
            errors[0].starts_with("line 3: until must not be before since"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("line 4: network_id must be an integer"),
            "{}",
            errors[1]
        );
        assert!(errors[2].starts_with("line 5: people"), "{}", errors[2]);
        assert!(errors[3].starts_with("line 6: source"), "{}", errors[3]);
        assert!(
            errors[4].starts_with("line 7: until must not be in the future"),
            "{}",
            errors[4]
        );
        assert!(
            errors[5].starts_with("line 8: has 4 fields"),
            "{}",
            errors[5]
        );
        assert_eq!(
            parse("since,until\n1,2\n", NOW).unwrap_err(),
            [format!("line 1: the header must be {HEADER}")]
        );
    }
}
