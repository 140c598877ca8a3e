//! `run_load_test` (real load through the `load` crate, saved like `mockloop bench` runs)
//! and `compare_test_runs` (saved runs or two reports, regressions flagged).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use load::{BaseUrl, Load, Plan, Progress, Report, RequestSpec, Stop, Target};
use serde_json::{Value, json};
use store::{BenchRun, BenchRunSummary, Store, StoreOptions};

use crate::params::{CompareTestRuns, RunLoadTest};
use crate::{Shared, ToolError, safety};

const MAX_USERS: u32 = 200;
const MAX_DURATION_S: f64 = 300.0;
const MAX_REQUESTS: u64 = 1_000_000;
const MAX_RATE: f64 = 50_000.0;
const DEFAULT_OPEN_CONNECTIONS: u32 = 100;
const MAX_BODY_BYTES: usize = 1024 * 1024;
const DEFAULT_DURATION_S: f64 = 10.0;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// `"POST /books"` or `"/books"` (sent with `default_method`) into a method and path.
fn endpoint(text: &str, default_method: &str) -> Result<(String, String), ToolError> {
    let text = text.trim();
    let (method, path) = match text.split_once(char::is_whitespace) {
        Some((method, path)) => (method.to_ascii_uppercase(), path.trim()),
        None => (default_method.to_owned(), text),
    };
    if !path.starts_with('/') {
        return Err(ToolError::new(format!(
            "invalid endpoint '{text}': expected 'METHOD /path' or '/path'"
        )));
    }
    Ok((method, path.to_owned()))
}

fn seconds(value: Option<f64>, name: &str, max: f64) -> Result<Option<Duration>, ToolError> {
    match value {
        None => Ok(None),
        Some(s) if s.is_finite() && (0.0..=max).contains(&s) => {
            Ok(Some(Duration::from_secs_f64(s)))
        }
        Some(s) => Err(ToolError::new(format!(
            "invalid {name} {s}: must be 0 to {max} seconds"
        ))),
    }
}

/// Header names and values.
type Headers = Vec<(String, String)>;

/// The headers and body every request carries, from the tool's `headers` and `body`.
fn payload(p: &RunLoadTest) -> Result<(Headers, Vec<u8>), ToolError> {
    let mut headers = Vec::new();
    match &p.headers {
        None => {}
        Some(Value::Object(map)) => {
            for (name, value) in map {
                let Some(value) = value.as_str() else {
                    return Err(ToolError::new(format!(
                        "invalid headers.{name}: the value must be a string"
                    )));
                };
                headers.push((name.clone(), value.to_owned()));
            }
        }
        Some(_) => {
            return Err(ToolError::new(
                "invalid headers: expected an object of name to string value",
            ));
        }
    }
    let body = match &p.body {
        None => Vec::new(),
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(value) => {
            let typed = headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
            if !typed {
                headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
            }
            value.to_string().into_bytes()
        }
    };
    if body.len() > MAX_BODY_BYTES {
        return Err(ToolError::new(format!(
            "invalid body: {} bytes, at most {MAX_BODY_BYTES}",
            body.len()
        )));
    }
    Ok((headers, body))
}

/// The plan for the tool's arguments, with the load bounded by the caps above.
pub fn plan(p: &RunLoadTest, url: &str) -> Result<Plan, ToolError> {
    let users = p.target_users.unwrap_or(10);
    if users == 0 || users > MAX_USERS {
        return Err(ToolError::new(format!(
            "invalid target_users {users}: must be 1 to {MAX_USERS}"
        )));
    }
    if let Some(n) = p.requests
        && (n == 0 || n > MAX_REQUESTS)
    {
        return Err(ToolError::new(format!(
            "invalid requests {n}: must be 1 to {MAX_REQUESTS}"
        )));
    }
    let mut duration = seconds(p.duration, "duration", MAX_DURATION_S)?;
    if duration.is_none() && p.requests.is_none() {
        duration = Some(Duration::from_secs_f64(DEFAULT_DURATION_S));
    }
    if duration.is_some_and(|d| d.is_zero()) {
        return Err(ToolError::new(
            "invalid duration 0: give a positive number of seconds",
        ));
    }
    // A run given only a request count still ends within the longest duration.
    let duration = duration.or(Some(Duration::from_secs_f64(MAX_DURATION_S)));
    let bad = |e: load::LoadError| ToolError::new(e.to_string());
    let default_method = match &p.method {
        None => "GET".to_owned(),
        Some(m) if !m.trim().is_empty() && m.trim().bytes().all(|b| b.is_ascii_alphabetic()) => {
            m.trim().to_ascii_uppercase()
        }
        Some(m) => {
            return Err(ToolError::new(format!(
                "invalid method '{m}': expected an HTTP method such as GET or POST"
            )));
        }
    };
    let (headers, body) = payload(p)?;
    let target = match &p.endpoints {
        None => Target::single(url, &default_method, &headers, body).map_err(bad)?,
        Some(list) if list.is_empty() => {
            return Err(ToolError::new(
                "endpoints is empty: omit it to load server_url itself",
            ));
        }
        Some(list) => {
            let base = BaseUrl::parse(url).map_err(bad)?;
            let mut specs = Vec::new();
            for item in list {
                let (method, path) = endpoint(item, &default_method)?;
                specs.push(RequestSpec {
                    name: format!("{method} {path}"),
                    method,
                    path,
                    headers: headers.clone(),
                    body: body.clone(),
                    weight: 1,
                });
            }
            Target::many(base, specs, format!("{} endpoints at {url}", list.len())).map_err(bad)?
        }
    };
    let load = match p.rate {
        None => Load::Closed {
            users,
            think: seconds(p.think_time, "think_time", 60.0)?.unwrap_or_default(),
            ramp_up: seconds(p.ramp_up_time, "ramp_up_time", MAX_DURATION_S)?.unwrap_or_default(),
        },
        Some(rate) => {
            if !(rate.is_finite() && rate > 0.0 && rate <= MAX_RATE) {
                return Err(ToolError::new(format!(
                    "invalid rate {rate}: must be above 0 and at most {MAX_RATE} requests/s"
                )));
            }
            for (given, name) in [
                (p.think_time, "think_time"),
                (p.ramp_up_time, "ramp_up_time"),
            ] {
                if given.is_some() {
                    return Err(ToolError::new(format!(
                        "{name} applies to the closed model only; omit it with rate"
                    )));
                }
            }
            Load::Open {
                rate,
                max_connections: p.target_users.unwrap_or(DEFAULT_OPEN_CONNECTIONS),
            }
        }
    };
    Ok(Plan {
        target,
        load,
        stop: Stop {
            duration,
            requests: p.requests,
        },
        timeout: REQUEST_TIMEOUT,
        seed: 0,
    })
}

/// A database path under the allowed directories; the file may not exist yet, but its
/// directory must.
fn db_path(shared: &Shared, raw: &str) -> Result<PathBuf, ToolError> {
    let path = Path::new(raw);
    let (dir, file) = match (path.parent(), path.file_name()) {
        (Some(dir), Some(file)) => (
            if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            },
            file,
        ),
        _ => {
            return Err(ToolError::new(format!(
                "invalid db_path '{raw}': not a file path"
            )));
        }
    };
    let dir = safety::allowed_file(
        &dir.to_string_lossy(),
        &shared.settings.allow_dirs,
        "db_path directory",
    )?;
    let joined = dir.join(file);
    // An existing entry is checked itself: a link in an allowed directory may lead out.
    if std::fs::symlink_metadata(&joined).is_ok() {
        return safety::allowed_file(
            &joined.to_string_lossy(),
            &shared.settings.allow_dirs,
            "db_path",
        );
    }
    Ok(joined)
}

fn save(db: &Path, report: &Report) -> Result<i64, ToolError> {
    let store = Store::open(db, StoreOptions::default()).map_err(|e| {
        ToolError::new(format!(
            "cannot open '{}' to save the run: {e}",
            db.display()
        ))
    })?;
    let run = BenchRun {
        summary: BenchRunSummary {
            id: 0,
            started_at: report.started_at,
            label: report.label.clone(),
            target: report.target.clone(),
            model: report.settings.model.clone(),
            requests: report.requests,
            rps: report.rps,
            p50_us: report.latency_us.p50,
            p99_us: report.latency_us.p99,
            error_rate: report.error_rate,
        },
        settings: serde_json::to_value(&report.settings).unwrap_or_default(),
        report: serde_json::to_value(report).unwrap_or_default(),
    };
    store
        .save_bench_run(&run)
        .map_err(|e| ToolError::new(format!("cannot save the run to '{}': {e}", db.display())))
}

pub async fn run(shared: &Shared, p: RunLoadTest) -> Result<Value, ToolError> {
    let url = safety::server_url(
        &p.server_url,
        shared.settings.allow_remote_servers,
        "server_url",
    )?;
    let plan = plan(&p, &url)?;
    let db = p
        .db_path
        .as_deref()
        .map(|raw| db_path(shared, raw))
        .transpose()?;
    let mut report = load::run(&plan, Arc::new(Progress::default()))
        .await
        .map_err(|e| ToolError::new(format!("the load test could not run: {e}")))?;
    report.label = p.label.clone();
    if let Some(db) = &db {
        let copy = report.clone();
        let path = db.clone();
        let id = tokio::task::spawn_blocking(move || save(&path, &copy))
            .await
            .map_err(|e| ToolError::new(format!("save task failed: {e}")))??;
        report.run_id = Some(id);
    }
    let mut result = json!({ "report": report });
    if report.requests > 0 && report.responses == 0 {
        result["warning"] = json!(format!(
            "no request was answered ({} connect, {} timeout, {} reset, {} other errors): is \
             the mock running at {url}?",
            report.errors_by_kind.connect,
            report.errors_by_kind.timeout,
            report.errors_by_kind.reset,
            report.errors_by_kind.other
        ));
    }
    if let Some(db) = db {
        result["saved"] = json!({ "db_path": db, "run_id": report.run_id });
    }
    Ok(result)
}

fn saved_report(store: &Store, id: i64) -> Result<Report, ToolError> {
    let run = store
        .get_bench_run(id)
        .map_err(|e| ToolError::new(format!("cannot read saved run {id}: {e}")))?
        .ok_or_else(|| {
            ToolError::new(format!("no saved run {id} in '{}'", store.path().display()))
        })?;
    let mut report: Report = serde_json::from_value(run.report)
        .map_err(|e| ToolError::new(format!("saved run {id} cannot be read: {e}")))?;
    report.run_id = Some(id);
    Ok(report)
}

fn report_arg(value: &Value, name: &str) -> Result<Report, ToolError> {
    // Accept run_load_test's whole result as well as the report inside it.
    let inner = if value.get("report").is_some() {
        &value["report"]
    } else {
        value
    };
    serde_json::from_value(inner.clone())
        .map_err(|e| ToolError::new(format!("invalid {name}: not a load test report ({e})")))
}

pub async fn compare(shared: &Shared, p: CompareTestRuns) -> Result<Value, ToolError> {
    let threshold = p.threshold_pct.unwrap_or(5.0);
    if !(threshold.is_finite() && threshold >= 0.0) {
        return Err(ToolError::new(format!(
            "invalid threshold_pct {threshold}: must be a percentage of 0 or more"
        )));
    }
    let (a, b) = match (&p.test_run_ids, &p.baseline_report, &p.candidate_report) {
        (Some(ids), None, None) => {
            let [a, b] = ids[..] else {
                return Err(ToolError::new(format!(
                    "test_run_ids must hold two ids [before, after], not {}",
                    ids.len()
                )));
            };
            let raw = p.db_path.as_deref().ok_or_else(|| {
                ToolError::new("test_run_ids need db_path: the SQLite file the runs were saved in")
            })?;
            let db = safety::allowed_file(raw, &shared.settings.allow_dirs, "db_path")?;
            tokio::task::spawn_blocking(move || {
                let options = StoreOptions {
                    create_if_missing: false,
                    ..StoreOptions::default()
                };
                let store = Store::open(&db, options)
                    .map_err(|e| ToolError::new(format!("cannot open '{}': {e}", db.display())))?;
                Ok::<_, ToolError>((saved_report(&store, a)?, saved_report(&store, b)?))
            })
            .await
            .map_err(|e| ToolError::new(format!("read task failed: {e}")))??
        }
        (None, Some(a), Some(b)) => (
            report_arg(a, "baseline_report")?,
            report_arg(b, "candidate_report")?,
        ),
        _ => {
            return Err(ToolError::new(
                "give test_run_ids (with db_path), or baseline_report and candidate_report",
            ));
        }
    };
    let comparison = load::compare(&a, &b, threshold);
    let regressions: Vec<&str> = comparison
        .changes
        .iter()
        .filter(|c| c.verdict == load::Verdict::Regression)
        .map(|c| c.metric.as_str())
        .collect();
    Ok(json!({
        "baseline": { "run_id": a.run_id, "label": a.label, "target": a.target },
        "candidate": { "run_id": b.run_id, "label": b.label, "target": b.target },
        "regressed": !regressions.is_empty(),
        "regressions": regressions,
        "comparison": comparison,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(value: Value) -> RunLoadTest {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn endpoints_are_method_and_path() {
        assert_eq!(
            endpoint("/books", "GET").unwrap(),
            ("GET".to_owned(), "/books".to_owned())
        );
        assert_eq!(
            endpoint("post /orders", "GET").unwrap(),
            ("POST".to_owned(), "/orders".to_owned())
        );
        assert_eq!(
            endpoint("/orders", "PUT").unwrap(),
            ("PUT".to_owned(), "/orders".to_owned())
        );
        assert!(endpoint("books", "GET").is_err());
    }

    #[test]
    fn load_is_bounded() {
        let url = "http://127.0.0.1:9";
        let bounded = plan(&args(json!({"server_url": url, "requests": 50})), url).unwrap();
        assert_eq!(bounded.stop.requests, Some(50));
        assert_eq!(bounded.stop.duration, Some(Duration::from_secs(300)));
        for bad in [
            json!({"server_url": url, "target_users": 0}),
            json!({"server_url": url, "target_users": 5000}),
            json!({"server_url": url, "duration": 3600}),
            json!({"server_url": url, "requests": 0}),
            json!({"server_url": url, "endpoints": []}),
            json!({"server_url": url, "rate": 0}),
            json!({"server_url": url, "rate": 1e9}),
            json!({"server_url": url, "rate": 10, "target_users": 500}),
            json!({"server_url": url, "rate": 10, "think_time": 1}),
            json!({"server_url": url, "method": "GET /x"}),
            json!({"server_url": url, "headers": {"x-n": 1}}),
            json!({"server_url": url, "headers": ["x"]}),
            json!({"server_url": url, "body": "x".repeat(MAX_BODY_BYTES + 1)}),
        ] {
            assert!(plan(&args(bad.clone()), url).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_rate_makes_an_open_plan_and_requests_carry_method_headers_and_body() {
        let url = "http://127.0.0.1:9/books";
        let open = plan(
            &args(
                json!({"server_url": url, "rate": 250.5, "requests": 10, "method": "post",
                         "headers": {"X-Team": "books"}, "body": {"title": "Dune"}}),
            ),
            url,
        )
        .unwrap();
        assert_eq!(
            open.load,
            Load::Open {
                rate: 250.5,
                max_connections: DEFAULT_OPEN_CONNECTIONS
            }
        );
        let (headers, body) = payload(&args(json!({"server_url": url,
            "headers": {"X-Team": "books"}, "body": {"title": "Dune"}})))
        .unwrap();
        assert_eq!(body, br#"{"title":"Dune"}"#.to_vec());
        assert!(headers.contains(&("Content-Type".to_owned(), "application/json".to_owned())));
        let (headers, body) = payload(&args(json!({"server_url": url,
            "headers": {"content-type": "text/plain"}, "body": "plain"})))
        .unwrap();
        assert_eq!(body, b"plain".to_vec());
        assert_eq!(headers.len(), 1);
        let closed = plan(&args(json!({"server_url": url, "target_users": 3})), url).unwrap();
        assert!(matches!(closed.load, Load::Closed { users: 3, .. }));
    }
}
