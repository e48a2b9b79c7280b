//! The committed `openapi.yaml` against the server, in both directions, over every
//! operation: requests the document calls valid (generated from its schemas) are never
//! refused as invalid (400, 422), requests that break exactly one of its rules always
//! are, and every answer's status is one the operation documents.
//!
//! Where the server is stricter than a schema can say, the document says so in words and
//! this test follows those words ([`Described`]): a cursor must be one the server handed
//! out, a time zone must exist, `until` is not before `since` (and analytics span at most
//! 31 days, a series at most 2,100 buckets), a reported observation lasts at most `--max-span` and does not end in the
//! future by more than a day.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::helpers::*;

/// Valid requests generated per operation.
const VALID_CASES: usize = 24;
/// The analytics' longest range (`stats::MAX_RANGE_S`), as the document says it.
const MAX_RANGE_S: i64 = 31 * 86_400;
/// The most buckets of a series (`analytics::MAX_BUCKETS`), as the document says it.
const MAX_BUCKETS: i64 = 2_100;

fn document() -> Value {
    serde_norway::from_str(include_str!("../../../openapi.yaml")).expect("openapi.yaml parses")
}

/// One operation of the document.
struct Operation {
    method: Method,
    path: String,
    spec: Value,
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn documents(&self, status: u16) -> bool {
        self.spec["responses"]
            .as_object()
            .is_some_and(|responses| responses.contains_key(&status.to_string()))
    }

    fn parameters(&self) -> Vec<&Value> {
        self.spec["parameters"]
            .as_array()
            .map(|all| all.iter().filter(|p| p["in"] != "header").collect())
            .unwrap_or_default()
    }

    fn is_analytics(&self) -> bool {
        self.path.starts_with("/api/v1/stats/") && self.path != "/api/v1/stats/now"
            || self.path.ends_with("/visits")
    }
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, spec) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            all.push(Operation {
                method,
                path: path.clone(),
                spec: spec.clone(),
            });
        }
    }
    all
}

/// Follows `$ref`s to the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// The name of the shared schema `schema` refers to, if it does.
fn schema_name(schema: &Value) -> Option<&str> {
    schema["$ref"]
        .as_str()
        .map(|reference| reference.trim_start_matches("#/components/schemas/"))
}

/// The rules the document states in words, and values that keep or break them.
struct Described {
    /// A cursor this server handed out.
    cursor: String,
    /// A Meraki source's name (`/meraki/{name}`).
    source: String,
}

const TIME_ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Kolkata",
    "Pacific/Chatham",
];

/// Draws values from proptest strategies.
struct Draw(TestRunner);

impl Draw {
    fn value<S: Strategy>(&mut self, strategy: S) -> S::Value {
        strategy.new_tree(&mut self.0).unwrap().current()
    }

    fn integer(&mut self, low: i64, high: i64) -> i64 {
        // Edges as often as the inside: that is where bounds are wrong.
        match self.value(0..6u8) {
            0 => low,
            1 => high,
            2 => low.saturating_add(1).min(high),
            _ => self.value(low..=high),
        }
    }

    fn chance(&mut self, percent: u8) -> bool {
        self.value(0..100u8) < percent
    }
}

/// A value `schema` calls valid (`name`: the parameter's or property's, for the rules
/// stated in words).
fn valid(doc: &Value, draw: &mut Draw, described: &Described, name: &str, schema: &Value) -> Value {
    if name == "tz" || name == "time_zone" {
        return json!(TIME_ZONES[draw.value(0..TIME_ZONES.len())]);
    }
    if schema_name(schema) == Some("Cursor") {
        return json!(described.cursor);
    }
    let schema = resolve(doc, schema);
    if let Some(choices) = schema["oneOf"].as_array() {
        let choice = &choices[draw.value(0..choices.len())];
        return valid(doc, draw, described, name, choice);
    }
    if let Some(members) = schema["enum"].as_array() {
        return members[draw.value(0..members.len())].clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => {
            let kinds: Vec<&Value> = kinds.iter().filter(|k| *k != "null").collect();
            if draw.chance(10) {
                return Value::Null;
            }
            kinds[0].as_str().unwrap().to_string()
        }
        kind => kind.as_str().unwrap_or("object").to_string(),
    };
    match kind.as_str() {
        "null" => Value::Null,
        "boolean" => json!(draw.chance(50)),
        "integer" => {
            let (type_low, type_high) = if schema["format"] == "int32" {
                (i64::from(i32::MIN), i64::from(i32::MAX))
            } else {
                (i64::MIN, i64::MAX)
            };
            let low = schema["minimum"].as_i64().unwrap_or(type_low);
            let high = schema["maximum"].as_i64().unwrap_or(type_high);
            json!(draw.integer(low, high))
        }
        "string" => {
            let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
            let max = schema["maxLength"].as_u64().map_or(40, |max| max as usize);
            match schema["pattern"].as_str() {
                Some(pattern) => {
                    // The document's patterns are anchored (a JSON Schema pattern matches
                    // anywhere otherwise); the generator takes the anchored text alone.
                    let unanchored = pattern
                        .trim_start_matches('^')
                        .trim_end_matches('$')
                        .replace("$|^", "|");
                    let strategy = proptest::string::string_regex(&unanchored)
                        .unwrap_or_else(|error| panic!("{pattern}: {error}"));
                    loop {
                        let text = draw.value(&strategy);
                        if (min..=max).contains(&text.chars().count()) {
                            return json!(text);
                        }
                    }
                }
                None => {
                    let length = draw.value(min..=max.min(min + 40));
                    json!(draw.value(
                        proptest::string::string_regex(&format!("[a-zA-Z0-9 ._]{{{length}}}"))
                            .unwrap()
                    ))
                }
            }
        }
        "array" => {
            let items = draw.value(0..4usize);
            json!((0..items)
                .map(|_| valid(doc, draw, described, name, &schema["items"]))
                .collect::<Vec<_>>())
        }
        _ => {
            let mut object = Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (property, property_schema) in
                schema["properties"].as_object().into_iter().flatten()
            {
                if required.contains(&property.as_str()) || draw.chance(60) {
                    let value = valid(doc, draw, described, property, property_schema);
                    object.insert(property.clone(), value);
                }
            }
            // A field the document does not name is ignored where it allows one.
            if schema["additionalProperties"] != false && draw.chance(25) {
                object.insert("firmware".to_string(), json!("1.2.3"));
            }
            Value::Object(object)
        }
    }
}

/// A request: its path (parameters filled in), query pairs and JSON body.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    query: Map<String, Value>,
    body: Option<Value>,
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

impl Request {
    fn url(&self, path_parameters: &Map<String, Value>) -> String {
        let mut path = self.path.clone();
        for (name, value) in path_parameters {
            let encoded: String = url_encode(&text(value));
            path = path.replace(&format!("{{{name}}}"), &encoded);
        }
        let pairs: Vec<(String, String)> = self
            .query
            .iter()
            .map(|(name, value)| (name.clone(), text(value)))
            .collect();
        match serde_urlencoded::to_string(&pairs).unwrap().as_str() {
            "" => path,
            query => format!("{path}?{query}"),
        }
    }
}

fn url_encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).unwrap()[1..].to_string()
}

/// A whole valid request of `operation`, with the rules stated in words kept.
fn valid_request(
    doc: &Value,
    draw: &mut Draw,
    described: &Described,
    operation: &Operation,
) -> (Map<String, Value>, Request) {
    let mut path_parameters = Map::new();
    let mut query = Map::new();
    for parameter in operation.parameters() {
        let name = parameter["name"].as_str().unwrap();
        let required = parameter["required"] == true;
        if !required && !draw.chance(50) {
            continue;
        }
        let value = if operation.path.starts_with("/meraki/") && name == "name" {
            json!(described.source)
        } else {
            valid(doc, draw, described, name, &parameter["schema"])
        };
        match parameter["in"].as_str() {
            Some("path") => path_parameters.insert(name.to_string(), value),
            _ => query.insert(name.to_string(), value),
        };
    }
    let body = operation.spec["requestBody"]["content"]["application/json"]["schema"]
        .as_object()
        .map(|_| {
            let schema = &operation.spec["requestBody"]["content"]["application/json"]["schema"];
            valid(doc, draw, described, "body", schema)
        });
    let mut request = Request {
        path: operation.path.clone(),
        query,
        body,
    };
    keep_described_rules(draw, operation, &mut request);
    (path_parameters, request)
}

/// The rules the document states in words: `until` not before `since`, analytics over at
/// most 31 days (`until` defaulting to now, `since` to a day before `until`) and a series
/// of at most 2,100 buckets, a ground-truth count's window over and of at most 31 days,
/// and a report's observations within `--max-span` and not ending more than a day ahead.
fn keep_described_rules(draw: &mut Draw, operation: &Operation, request: &mut Request) {
    let query = &mut request.query;
    let number = |value: Option<&Value>| value.and_then(Value::as_i64);
    if operation.is_analytics() {
        // The latest time the document allows.
        let latest = operation
            .parameters()
            .into_iter()
            .find(|p| p["name"] == "until")
            .and_then(|p| p["schema"]["maximum"].as_i64())
            .unwrap_or(i64::MAX);
        match (number(query.get("since")), number(query.get("until"))) {
            (Some(since), None) => {
                let until = since
                    .saturating_add(draw.integer(0, MAX_RANGE_S))
                    .min(latest);
                query.insert("until".into(), json!(until));
            }
            (Some(since), Some(until)) => {
                let (since, until) = (since.min(until), since.max(until));
                let until = until.min(since.saturating_add(MAX_RANGE_S));
                query.insert("since".into(), json!(since));
                query.insert("until".into(), json!(until));
            }
            (None, Some(_)) | (None, None) => {}
        }
        // A series of 5- or 15-minute buckets holds at most 2,100 of them.
        let bucket_s = match query.get("bucket").and_then(Value::as_str) {
            Some("5m") => Some(300),
            Some("15m") => Some(900),
            _ => None,
        };
        if let (Some(bucket_s), Some(since), Some(until)) = (
            bucket_s,
            number(query.get("since")),
            number(query.get("until")),
        ) {
            let until = until.min(since.saturating_add((MAX_BUCKETS - 2) * bucket_s));
            query.insert("until".into(), json!(until));
        }
    } else if let (Some(since), Some(until)) =
        (number(query.get("since")), number(query.get("until")))
    {
        query.insert("since".into(), json!(since.min(until)));
        query.insert("until".into(), json!(since.max(until)));
    }
    // A ground-truth count: a window that is over, `until` not before `since`, of at
    // most 31 days.
    if let Some(body) = request
        .body
        .as_mut()
        .filter(|body| body.get("people").is_some())
    {
        let now = unix_now();
        let a = number(body.get("since")).unwrap_or(0).clamp(0, now - 1);
        let b = number(body.get("until")).unwrap_or(0).clamp(0, now - 1);
        let (since, until) = (a.min(b), a.max(b));
        body["since"] = json!(since.max(until - MAX_RANGE_S));
        body["until"] = json!(until);
    }
    if let Some(probes) = request
        .body
        .as_mut()
        .and_then(|body| body.get_mut("probe_requests"))
        .and_then(Value::as_array_mut)
    {
        let latest = unix_now() + 86_400;
        for probe in probes {
            let last_seen = probe["last_seen"].as_i64().unwrap().min(latest);
            let span = draw.integer(0, 3_600).min(last_seen);
            probe["last_seen"] = json!(last_seen);
            probe["first_seen"] = json!(last_seen - span);
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Ways to break one rule of `schema`, each a value (or `None`: leave it out).
fn breaks(
    doc: &Value,
    name: &str,
    schema: &Value,
    required: bool,
    in_query: bool,
) -> Vec<(String, Option<Value>)> {
    let mut broken = Vec::new();
    if required {
        broken.push(("left out".to_string(), None));
    }
    if name == "tz" || name == "time_zone" {
        broken.push(("no such time zone".into(), Some(json!("Mars/Olympus_Mons"))));
    }
    let shared = schema_name(schema);
    let schema = resolve(doc, schema);
    let not_a = |kind: &str| {
        if in_query {
            json!(format!("not-a-{kind}"))
        } else {
            json!({"not": kind})
        }
    };
    match shared {
        Some("Mac") => broken.push(("not a MAC".into(), Some(json!("zz:zz:zz:zz:zz:zz")))),
        Some("Label") => {
            broken.push(("a formula".into(), Some(json!("=HYPERLINK(1)"))));
            broken.push((
                "a control character".into(),
                Some(json!("Ground\u{7}floor")),
            ));
            broken.push(("a bidi override".into(), Some(json!("Ground\u{202e}floor"))));
        }
        Some("Cursor") => broken.push((
            "a cursor never handed out".into(),
            Some(json!("bm90LWEtY3Vyc29y")),
        )),
        _ => {}
    }
    if schema["enum"].is_array() {
        broken.push(("not in the enum".into(), Some(json!("not-a-member"))));
    }
    match schema["type"].as_str() {
        Some("integer") => {
            if let Some(minimum) = schema["minimum"].as_i64() {
                broken.push((format!("below {minimum}"), Some(json!(minimum - 1))));
            }
            if let Some(maximum) = schema["maximum"].as_i64() {
                broken.push((format!("above {maximum}"), Some(json!(maximum + 1))));
            }
            broken.push(("not an integer".into(), Some(not_a("integer"))));
        }
        Some("boolean") => broken.push(("not a boolean".into(), Some(not_a("boolean")))),
        Some("string") => {
            if schema["minLength"].as_u64().unwrap_or(0) > 0 {
                broken.push(("empty".into(), Some(json!(""))));
            }
            if let Some(max) = schema["maxLength"].as_u64() {
                broken.push(("too long".into(), Some(json!("a".repeat(max as usize + 1)))));
            }
            if !in_query {
                broken.push(("not a string".into(), Some(json!(17))));
            }
        }
        Some("array") if !in_query => broken.push(("not an array".into(), Some(json!({})))),
        Some("object") if !in_query => broken.push(("not an object".into(), Some(json!([])))),
        _ => {}
    }
    broken
}

struct Outcome {
    status: u16,
    body: String,
}

async fn send(
    app: &TestApp,
    operation: &Operation,
    path_parameters: &Map<String, Value>,
    request: &Request,
) -> Outcome {
    let mut builder = app.client.request(
        operation.method.clone(),
        app.url(&request.url(path_parameters)),
    );
    if let Some(body) = &request.body {
        builder = builder
            .header("Content-Type", "application/json")
            .body(body.to_string());
    }
    let response = builder.send().await.unwrap();
    Outcome {
        status: response.status().as_u16(),
        body: response.text().await.unwrap(),
    }
}

async fn seeded_app() -> (TestApp, Described) {
    let app = spawn_app().await;
    let now = app.clock.now();
    for node in 0..3u32 {
        let probes = (0..20u32)
            .map(|i| {
                probe(
                    &client_mac(i),
                    now - 3_000 + i64::from(i) * 60,
                    now - 2_900 + i64::from(i) * 60,
                    i % 3 == 0,
                )
            })
            .collect();
        app.ingest(&report(
            179_283,
            &format!("ac:86:74:00:00:{node:02x}"),
            probes,
        ))
        .await;
    }
    let page = app.get_json("/api/v1/probe-requests?limit=1").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_string();
    app.add_source("contract", "validator", "contract-secret");
    (
        app,
        Described {
            cursor,
            source: "contract".to_string(),
        },
    )
}

/// Every operation: generated valid requests are not refused as invalid, and each
/// status answered is documented.
#[actix_web::test]
async fn requests_the_document_calls_valid_are_accepted() {
    let doc = document();
    let (app, described) = seeded_app().await;
    let mut draw = Draw(TestRunner::deterministic());
    let mut failures = Vec::new();
    for operation in operations(&doc) {
        // Signing out ends nothing here (no session), and stays valid.
        let cases = if operation.parameters().is_empty() && operation.spec["requestBody"].is_null()
        {
            1
        } else {
            VALID_CASES
        };
        for _ in 0..cases {
            let (path_parameters, request) = valid_request(&doc, &mut draw, &described, &operation);
            let outcome = send(&app, &operation, &path_parameters, &request).await;
            let refused = matches!(outcome.status, 400 | 422)
                || outcome.status >= 500 && outcome.status != 503;
            if refused || !operation.documents(outcome.status) {
                failures.push(describe(
                    &operation,
                    "",
                    &path_parameters,
                    &request,
                    &outcome,
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} valid requests refused or answered with an undocumented status:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every operation: a valid request with one rule of the document broken is refused
/// (400 or 422), with a documented status.
#[actix_web::test]
async fn requests_breaking_one_rule_of_the_document_are_refused() {
    let doc = document();
    let (app, described) = seeded_app().await;
    let mut draw = Draw(TestRunner::deterministic());
    let mut failures = Vec::new();
    let mut checked = 0;
    for operation in operations(&doc) {
        let mut cases = Vec::new();
        for parameter in operation.parameters() {
            let name = parameter["name"].as_str().unwrap().to_string();
            let in_path = parameter["in"] == "path";
            for (rule, value) in breaks(
                &doc,
                &name,
                &parameter["schema"],
                parameter["required"] == true && !in_path,
                true,
            ) {
                // An empty path segment is another path (404), not this operation.
                if in_path && value.as_ref().is_some_and(|v| v == "") {
                    continue;
                }
                cases.push((
                    format!("{name}: {rule}"),
                    Target::Parameter {
                        name: name.clone(),
                        in_path,
                    },
                    value,
                ));
            }
        }
        let body_schema = &operation.spec["requestBody"]["content"]["application/json"]["schema"];
        if !body_schema.is_null() {
            let body = resolve(&doc, body_schema);
            for (rule, value) in breaks(&doc, "body", body_schema, false, false) {
                cases.push((format!("the body: {rule}"), Target::Body(Vec::new()), value));
            }
            if body["additionalProperties"] == false {
                cases.push((
                    "the body: an unknown field".into(),
                    Target::Body(vec!["unexpected".into()]),
                    Some(json!(1)),
                ));
            }
            let required: Vec<&str> = body["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (property, schema) in body["properties"].as_object().into_iter().flatten() {
                let is_required = required.contains(&property.as_str());
                for (rule, value) in breaks(&doc, property, schema, is_required, false) {
                    cases.push((
                        format!("{property}: {rule}"),
                        Target::Body(vec![property.clone()]),
                        value,
                    ));
                }
                // The items of an array of objects (a report's probe requests).
                let items = resolve(&doc, &schema["items"]);
                let item_required: Vec<&str> = items["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for (item_property, item_schema) in
                    items["properties"].as_object().into_iter().flatten()
                {
                    for (rule, value) in breaks(
                        &doc,
                        item_property,
                        item_schema,
                        item_required.contains(&item_property.as_str()),
                        false,
                    ) {
                        cases.push((
                            format!("{property}[0].{item_property}: {rule}"),
                            Target::Item(property.clone(), item_property.clone()),
                            value,
                        ));
                    }
                }
            }
        }
        for (rule, target, value) in cases {
            let (mut path_parameters, mut request) =
                valid_request(&doc, &mut draw, &described, &operation);
            if !target.apply(&mut path_parameters, &mut request, value) {
                continue;
            }
            checked += 1;
            let outcome = send(&app, &operation, &path_parameters, &request).await;
            if !matches!(outcome.status, 400 | 422) || !operation.documents(outcome.status) {
                failures.push(describe(
                    &operation,
                    &format!(" ({rule})"),
                    &path_parameters,
                    &request,
                    &outcome,
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} broken requests were made");
    assert!(
        failures.is_empty(),
        "{} requests breaking a rule were not refused:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Sets `key` of `object` to `value`, or removes it (`None`: the value left out).
fn put(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    match value {
        Some(value) => object.insert(key.to_string(), value),
        None => object.remove(key),
    };
}

/// One request and its answer, for a failure message.
fn describe(
    operation: &Operation,
    rule: &str,
    path_parameters: &Map<String, Value>,
    request: &Request,
    outcome: &Outcome,
) -> String {
    format!(
        "{}{rule} {} {:?}: {} {}",
        operation.name(),
        request.url(path_parameters),
        request.body.as_ref().map(Value::to_string),
        outcome.status,
        outcome.body
    )
}

/// Where a broken value goes.
enum Target {
    Parameter {
        name: String,
        in_path: bool,
    },
    /// The body itself (no path), or one of its fields.
    Body(Vec<String>),
    /// A field of the first item of an array field of the body.
    Item(String, String),
}

impl Target {
    /// Puts `value` (None: nothing) in place; false when the request has no such place.
    fn apply(
        &self,
        path_parameters: &mut Map<String, Value>,
        request: &mut Request,
        value: Option<Value>,
    ) -> bool {
        match self {
            Target::Parameter { name, in_path } => {
                let place = if *in_path {
                    path_parameters
                } else {
                    &mut request.query
                };
                put(place, name, value);
                true
            }
            Target::Body(path) => {
                let Some(body) = request.body.as_mut() else {
                    return false;
                };
                match path.first() {
                    None => {
                        *body = value.unwrap_or(Value::Null);
                        true
                    }
                    Some(field) => {
                        let Some(object) = body.as_object_mut() else {
                            return false;
                        };
                        put(object, field, value);
                        true
                    }
                }
            }
            Target::Item(array, field) => {
                let Some(item) = request
                    .body
                    .as_mut()
                    .and_then(|body| body.get_mut(array))
                    .and_then(Value::as_array_mut)
                    .and_then(|items| items.first_mut())
                    .and_then(Value::as_object_mut)
                else {
                    return false;
                };
                put(item, field, value);
                true
            }
        }
    }
}
