//! The browser's clock and time zone (not available on the host, hence kept apart from
//! the pure `format` module).

use wasm_bindgen::JsValue;

/// Now, Unix seconds.
pub fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn date(unix: i64) -> js_sys::Date {
    js_sys::Date::new(&JsValue::from_f64(unix as f64 * 1000.0))
}

/// The time in the browser's locale and time zone, e.g. "26/11/2026, 10:42:01".
pub fn local_time(unix: i64) -> String {
    String::from(date(unix).to_locale_string("default", &JsValue::UNDEFINED))
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

/// Local midnight `days` calendar days before the day of `unix` (not `days` × 24 h: a
/// day with a DST change lasts 23 or 25 hours), Unix seconds.
pub fn local_midnight_days_before(unix: i64, days: u32) -> i64 {
    let mut midnight = local_midnight(unix);
    for _ in 0..days {
        // An hour before a midnight is in the day before, whatever its length.
        midnight = local_midnight(midnight - 3_600);
    }
    midnight
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
