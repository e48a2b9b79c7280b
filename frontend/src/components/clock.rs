//! The browser's clock and time zone (not available on the host, hence kept apart from
//! the pure `format` module).

use wasm_bindgen::{JsCast, JsValue};

/// Now, Unix seconds.
pub fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn date(unix: i64) -> js_sys::Date {
    js_sys::Date::new(&JsValue::from_f64(unix as f64 * 1000.0))
}

thread_local! {
    /// Made once: a formatter is costly to build, and a page of 1,000 rows formats
    /// thousands of dates and numbers.
    static DATE_TIME: js_sys::Intl::DateTimeFormat = js_sys::Intl::DateTimeFormat::new(
        &js_sys::Array::new(),
        &{
            let options = js_sys::Object::new();
            for (key, value) in [("dateStyle", "short"), ("timeStyle", "medium")] {
                let _ = js_sys::Reflect::set(&options, &JsValue::from_str(key), &JsValue::from_str(value));
            }
            options
        },
    );
    static NUMBER: js_sys::Intl::NumberFormat =
        js_sys::Intl::NumberFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
}

/// The time in the browser's locale and time zone, e.g. "26/11/2026, 10:42:01".
pub fn local_time(unix: i64) -> String {
    DATE_TIME.with(|format| {
        format
            .format()
            .call1(&JsValue::NULL, &date(unix))
            .ok()
            .and_then(|text| text.as_string())
            .unwrap_or_else(|| {
                String::from(date(unix).to_locale_string("default", &JsValue::UNDEFINED))
            })
    })
}

thread_local! {
    /// One formatter per time zone, made once (see [`DATE_TIME`]).
    static DATE_TIME_IN: std::cell::RefCell<std::collections::HashMap<String, Option<js_sys::Intl::DateTimeFormat>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The time in the browser's locale and the IANA time zone `tz`, e.g. "26/11/2026,
/// 10:42:01"; in the browser's zone when `tz` is empty or unknown to it.
pub fn local_time_in(unix: i64, tz: &str) -> String {
    if tz.is_empty() {
        return local_time(unix);
    }
    let formatted = DATE_TIME_IN.with(|cache| {
        let mut cache = cache.borrow_mut();
        let format = cache.entry(tz.to_string()).or_insert_with(|| {
            formatter_in(tz, None, &[("dateStyle", "short"), ("timeStyle", "medium")])
        });
        format
            .as_ref()?
            .format()
            .call1(&JsValue::NULL, &date(unix))
            .ok()?
            .as_string()
    });
    formatted.unwrap_or_else(|| local_time(unix))
}

/// A whole number in the browser's locale ("12,345", "12.345", "12 345").
#[cfg(target_arch = "wasm32")]
pub fn number(value: i64) -> Option<String> {
    NUMBER.with(|format| {
        format
            .format()
            .call1(&JsValue::NULL, &JsValue::from_f64(value as f64))
            .ok()
            .and_then(|text| text.as_string())
    })
}

/// ISO 8601 in UTC, for `<time datetime>`.
pub fn iso(unix: i64) -> String {
    String::from(date(unix).to_iso_string())
}

/// The value of an `<input type="datetime-local" step="1">` for `unix`, in local time,
/// to the second: a time from the URL survives the form unchanged.
pub fn to_input_value(unix: i64) -> String {
    let d = date(unix);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date(),
        d.get_hours(),
        d.get_minutes(),
        d.get_seconds()
    )
}

/// ISO 8601 with the offset of the IANA time zone `tz`, e.g. "2026-11-26T10:42:01+01:00"
/// (UTC's "Z" when the browser does not know `tz`).
pub fn iso_in(unix: i64, tz: &str) -> String {
    let Some(parts) = parts_in(unix, tz) else {
        return iso(unix);
    };
    let [year, month, day, hour, minute, second] = parts;
    let offset = wall_clock_as_utc(parts) - unix;
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.abs();
    format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{sign}{:02}:{:02}",
        offset / 3_600,
        offset % 3_600 / 60
    )
}

/// A wall-clock time read as if it were UTC, Unix seconds.
fn wall_clock_as_utc(parts: [i64; 6]) -> i64 {
    (js_sys::Date::utc(parts[0] as f64, (parts[1] - 1) as f64) / 1000.0) as i64
        + (parts[2] - 1) * 86_400
        + parts[3] * 3_600
        + parts[4] * 60
        + parts[5]
}

/// [`to_input_value`] in the IANA time zone `tz` (the browser's when empty or unknown).
pub fn to_input_value_in(unix: i64, tz: &str) -> String {
    match (!tz.is_empty()).then(|| parts_in(unix, tz)).flatten() {
        Some([year, month, day, hour, minute, second]) => {
            format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")
        }
        None => to_input_value(unix),
    }
}

/// [`from_input_value`] read as a wall-clock time of the IANA time zone `tz` (the
/// browser's when empty or unknown). A time a DST change skips is read an hour later;
/// one it repeats, as the first.
pub fn from_input_value_in(value: &str, tz: &str) -> Option<i64> {
    if tz.is_empty() || parts_in(0, tz).is_none() {
        return from_input_value(value);
    }
    let wanted = parse_wall_clock(value)?;
    // The wall clock read as UTC, then moved by the zone's offset there (twice: the
    // offset at the first guess may be the other side of a change).
    let naive = wall_clock_as_utc(wanted);
    let mut guess = naive;
    for _ in 0..2 {
        let seen = wall_clock_as_utc(parts_in(guess, tz)?);
        guess -= seen - naive;
    }
    Some(guess)
}

/// "2026-11-26T10:42" or "2026-11-26T10:42:01" as its six fields.
fn parse_wall_clock(value: &str) -> Option<[i64; 6]> {
    let (date, time) = value.trim().split_once('T')?;
    let mut out = [0_i64; 6];
    let date: Vec<&str> = date.split('-').collect();
    let time: Vec<&str> = time.split(':').collect();
    if date.len() != 3 || !(2..=3).contains(&time.len()) {
        return None;
    }
    for (slot, text) in out.iter_mut().zip(date.iter().chain(time.iter())) {
        *slot = text.split('.').next()?.parse().ok()?;
    }
    Some(out)
}

/// The Unix time of an `<input type="datetime-local">` value (local time); `None` when
/// empty or not a time.
pub fn from_input_value(value: &str) -> Option<i64> {
    if value.trim().is_empty() {
        return None;
    }
    let millis = js_sys::Date::new(&JsValue::from_str(value)).get_time();
    (!millis.is_nan()).then(|| (millis / 1000.0) as i64)
}

/// The browser's IANA time zone, e.g. "Europe/Berlin" ("UTC" if it does not say).
pub fn time_zone() -> String {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options();
    js_sys::Reflect::get(&options, &JsValue::from_str("timeZone"))
        .ok()
        .and_then(|zone| zone.as_string())
        .unwrap_or_else(|| "UTC".to_string())
}

/// Local midnight of the day of `unix`, Unix seconds.
pub fn local_midnight(unix: i64) -> i64 {
    let d = date(unix);
    d.set_hours(0);
    d.set_minutes(0);
    d.set_seconds(0);
    d.set_milliseconds(0);
    (d.get_time() / 1000.0) as i64
}

/// "14:00": the local hour and minute of `unix`.
pub fn local_hour_minute(unix: i64) -> String {
    let d = date(unix);
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// "26/11": the local day and month of `unix`.
pub fn local_day_month(unix: i64) -> String {
    let d = date(unix);
    format!("{:02}/{:02}", d.get_date(), d.get_month() + 1)
}

/// A date formatter for the IANA time zone `tz` with `options` (Intl's), in `locale` or
/// the browser's; `None` if the browser does not know the zone.
fn formatter_in(
    tz: &str,
    locale: Option<&str>,
    options: &[(&str, &str)],
) -> Option<js_sys::Intl::DateTimeFormat> {
    let object = js_sys::Object::new();
    let set = |key: &str, value: &str| {
        js_sys::Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value)).is_ok()
    };
    if !(set("timeZone", tz) && options.iter().all(|(key, value)| set(key, value))) {
        return None;
    }
    // Constructed through Reflect, which returns the RangeError an unknown zone throws
    // instead of trapping.
    let intl = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("Intl")).ok()?;
    let constructor: js_sys::Function =
        js_sys::Reflect::get(&intl, &JsValue::from_str("DateTimeFormat"))
            .ok()?
            .dyn_into()
            .ok()?;
    let locales = match locale {
        Some(locale) => js_sys::Array::of1(&JsValue::from_str(locale)),
        None => js_sys::Array::new(),
    };
    let arguments = js_sys::Array::of2(&locales, &object);
    Some(
        js_sys::Reflect::construct(&constructor, &arguments)
            .ok()?
            .unchecked_into(),
    )
}

/// The weekday, day and month of `unix` in `tz`, in the browser's locale ("Mon, 11/26",
/// "Mo., 26.11."): a day bar's label says which day of the week it is.
pub fn weekday_day_in(unix: i64, tz: &str) -> String {
    formatter_in(
        tz,
        None,
        &[
            ("weekday", "short"),
            ("day", "numeric"),
            ("month", "numeric"),
        ],
    )
    .and_then(|format| format.format().call1(&JsValue::NULL, &date(unix)).ok())
    .and_then(|text| text.as_string())
    .unwrap_or_else(|| day_month_in(unix, tz))
}

/// The wall clock of `unix` in the IANA time zone `tz`: (year, month, day, hour, minute,
/// second); `None` if the browser does not know the zone.
pub fn parts_in(unix: i64, tz: &str) -> Option<[i64; 6]> {
    let fields = ["year", "month", "day", "hour", "minute", "second"];
    let mut options = vec![("hourCycle", "h23")];
    options.extend(fields.iter().map(|field| (*field, "numeric")));
    let format = formatter_in(tz, Some("en-US"), &options)?;
    let parts = format.format_to_parts(&date(unix));
    let mut out = [0_i64; 6];
    for part in parts.iter() {
        let kind = js_sys::Reflect::get(&part, &JsValue::from_str("type"))
            .ok()?
            .as_string()?;
        let value = js_sys::Reflect::get(&part, &JsValue::from_str("value"))
            .ok()?
            .as_string()?;
        if let Some(index) = fields.iter().position(|field| *field == kind) {
            out[index] = value.parse().ok()?;
        }
    }
    Some(out)
}

/// Midnight of the day of `unix` in `tz`, Unix seconds (the browser's own zone if it
/// does not know `tz`). Exact across DST changes: the first guess (now minus the time
/// of day) is off by the change's hour on a day with one, and is corrected by reading
/// the guess's own time of day.
pub fn midnight_in(unix: i64, tz: &str) -> i64 {
    let since_midnight = |parts: [i64; 6]| parts[3] * 3_600 + parts[4] * 60 + parts[5];
    let Some(parts) = parts_in(unix, tz) else {
        return local_midnight(unix);
    };
    let mut guess = unix - since_midnight(parts);
    for _ in 0..3 {
        let Some(parts) = parts_in(guess, tz) else {
            break;
        };
        match since_midnight(parts) {
            0 => break,
            // Landed late on the day before (a 25-hour day): forward to its end.
            late if parts[3] >= 12 => guess += 86_400 - late,
            early => guess -= early,
        }
    }
    guess
}

/// Midnight `days` calendar days before the day of `unix`, in `tz`.
pub fn midnight_days_before_in(unix: i64, days: u32, tz: &str) -> i64 {
    let mut midnight = midnight_in(unix, tz);
    for _ in 0..days {
        midnight = midnight_in(midnight - 3_600, tz);
    }
    midnight
}

/// "14:00" in `tz`.
pub fn hour_minute_in(unix: i64, tz: &str) -> String {
    match parts_in(unix, tz) {
        Some([_, _, _, hour, minute, _]) => format!("{hour:02}:{minute:02}"),
        None => local_hour_minute(unix),
    }
}

/// "26/11" in `tz`.
pub fn day_month_in(unix: i64, tz: &str) -> String {
    match parts_in(unix, tz) {
        Some([_, month, day, ..]) => format!("{day:02}/{month:02}"),
        None => local_day_month(unix),
    }
}
