//! `mockloop scenario`, `mockloop override` and `mockloop faults`: change a running mock
//! through its admin API, with text for people and `--json` for scripts.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use engine::runtime::{DelaySpec, FaultSpec, GlobalFaults};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use crate::cli::{
    AdminArgs, FaultsAction, FaultsArgs, OverrideAction, OverrideArgs, OverrideRule,
    ScenarioAction, ScenarioArgs,
};
use crate::exit;
use crate::logs::write_stdout;
use crate::remote::{Admin, CallError};

/// A failed command: the message and the exit code.
pub(crate) struct Failure(pub(crate) String, pub(crate) u8);

impl From<CallError> for Failure {
    fn from(err: CallError) -> Failure {
        let code = match &err {
            CallError::Refused { status, .. } if *status < 500 => exit::USAGE,
            _ => exit::FAILURE,
        };
        Failure(err.to_string(), code)
    }
}

pub(crate) fn usage(message: impl Into<String>) -> Failure {
    Failure(message.into(), exit::USAGE)
}

/// Prints the outcome: text or the admin API's JSON on stdout, errors on stderr.
pub(crate) fn finish(
    admin: &AdminArgs,
    outcome: Result<(String, Value), Failure>,
) -> Result<ExitCode> {
    match outcome {
        Ok((text, value)) => {
            let out = if admin.json {
                format!("{}\n", serde_json::to_string_pretty(&value)?)
            } else {
                text
            };
            write_stdout(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(Failure(message, code)) => {
            eprintln!("error: {message}");
            Ok(ExitCode::from(code))
        }
    }
}

fn segment(key: &str) -> String {
    utf8_percent_encode(key, NON_ALPHANUMERIC).to_string()
}

pub fn scenario(args: ScenarioArgs) -> Result<ExitCode> {
    let admin = Admin::new(&args.admin.admin);
    let outcome = run_scenario(&admin, args.action);
    finish(&args.admin, outcome)
}

fn run_scenario(admin: &Admin, action: ScenarioAction) -> Result<(String, Value), Failure> {
    Ok(match action {
        ScenarioAction::List => {
            let list = admin.call("GET", "/api/scenarios", None)?;
            (scenario_table(&list), list)
        }
        ScenarioAction::Show { key } => {
            let found = admin.call("GET", &format!("/api/scenarios/{}", segment(&key)), None)?;
            let text = format!(
                "{}\n{}\n",
                scenario_line(&found),
                serde_json::to_string_pretty(&found["config"]).unwrap_or_default()
            );
            (text, found)
        }
        ScenarioAction::Active => {
            let active = admin.call("GET", "/api/scenarios/active", None)?;
            let text = if active.is_null() {
                "no scenario is active\n".to_owned()
            } else {
                format!("{}\n", scenario_line(&active))
            };
            (text, active)
        }
        ScenarioAction::Create { file } | ScenarioAction::Update { file } if !file.exists() => {
            return Err(usage(format!("no scenario file at '{}'", file.display())));
        }
        ScenarioAction::Create { file } => {
            let scenarios = crate::scenario_file::read(&file).map_err(usage)?;
            let mut text = String::new();
            let mut created = Vec::new();
            let count = scenarios.len();
            for (index, (scenario, value)) in scenarios.into_iter().enumerate() {
                let stored = admin
                    .call("POST", "/api/scenarios", Some(&value))
                    .map_err(|err| in_file(err, index, count, &scenario.scenario_name, &created))?;
                let _ = writeln!(
                    text,
                    "created scenario '{}' (id {})",
                    stored["name"].as_str().unwrap_or_default(),
                    stored["id"]
                );
                created.push(stored);
            }
            (text, Value::Array(created))
        }
        ScenarioAction::Update { file } => {
            let scenarios = crate::scenario_file::read(&file).map_err(usage)?;
            let mut text = String::new();
            let mut updated = Vec::new();
            let count = scenarios.len();
            for (index, (scenario, value)) in scenarios.into_iter().enumerate() {
                let path = format!("/api/scenarios/{}", segment(&scenario.scenario_name));
                let stored = admin
                    .call("PUT", &path, Some(&value))
                    .map_err(|err| in_file(err, index, count, &scenario.scenario_name, &updated))?;
                let _ = writeln!(text, "updated scenario '{}'", scenario.scenario_name);
                updated.push(stored);
            }
            (text, Value::Array(updated))
        }
        ScenarioAction::Delete { key } => {
            admin.call("DELETE", &format!("/api/scenarios/{}", segment(&key)), None)?;
            (
                format!("deleted scenario '{key}'\n"),
                json!({ "deleted": key }),
            )
        }
        ScenarioAction::Activate { key } => {
            let path = format!("/api/scenarios/{}/activate", segment(&key));
            let active = admin.call("POST", &path, None)?;
            let text = format!(
                "activated scenario '{}'\n",
                active["name"].as_str().unwrap_or_default()
            );
            (text, active)
        }
        ScenarioAction::Deactivate => {
            let was = admin.call("POST", "/api/scenarios/deactivate", None)?;
            let text = match was["deactivated"].as_str() {
                Some(name) => format!("deactivated scenario '{name}'\n"),
                None => "no scenario was active\n".to_owned(),
            };
            (text, was)
        }
    })
}

/// A refusal of one scenario of a file, naming it and what was stored before it (those
/// stay stored: each scenario is its own call).
fn in_file(err: CallError, index: usize, count: usize, name: &str, done: &[Value]) -> Failure {
    let Failure(message, code) = Failure::from(err);
    let mut text = format!("scenario {} of {count} ('{name}'): {message}", index + 1);
    if !done.is_empty() {
        let names: Vec<&str> = done.iter().filter_map(|s| s["name"].as_str()).collect();
        text.push_str(&format!("; stored before it: {}", names.join(", ")));
    }
    Failure(text, code)
}

fn scenario_line(s: &Value) -> String {
    format!(
        "{} (id {}{}){}",
        s["name"].as_str().unwrap_or_default(),
        s["id"],
        if s["active"].as_bool() == Some(true) {
            ", active"
        } else {
            ""
        },
        match s["description"].as_str() {
            Some(d) if !d.is_empty() => format!(": {d}"),
            _ => String::new(),
        }
    )
}

fn scenario_table(list: &Value) -> String {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        return "no scenarios stored\n".to_owned();
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "id",
        "name",
        "type",
        "endpoints",
        "active",
        "description",
    ]);
    for s in items {
        table.add_row([
            s["id"].to_string(),
            s["name"].as_str().unwrap_or_default().to_owned(),
            s["scenario_type"].as_str().unwrap_or_default().to_owned(),
            s["config"]["endpoints"]
                .as_array()
                .map_or(0, Vec::len)
                .to_string(),
            if s["active"].as_bool() == Some(true) {
                "yes".to_owned()
            } else {
                String::new()
            },
            s["description"].as_str().unwrap_or_default().to_owned(),
        ]);
    }
    format!("{table}\n")
}

pub fn overrides(args: OverrideArgs) -> Result<ExitCode> {
    let admin = Admin::new(&args.admin.admin);
    let outcome = run_override(&admin, args.action);
    finish(&args.admin, outcome)
}

/// The JSON of an override given as flags; delays and faults are checked here so that a
/// typo is reported before anything is sent.
fn override_json(rule: &OverrideRule) -> Result<Value, Failure> {
    let mut object = serde_json::Map::new();
    object.insert("method".into(), rule.method.clone().into());
    object.insert("path".into(), rule.path.clone().into());
    if let Some(status) = rule.status {
        object.insert("status".into(), status.into());
    }
    if !rule.headers.is_empty() {
        let mut headers = serde_json::Map::new();
        for header in &rule.headers {
            let (name, value) = header.split_once(':').ok_or_else(|| {
                usage(format!("invalid --header '{header}': expected NAME:VALUE"))
            })?;
            headers.insert(name.trim().to_owned(), value.trim().into());
        }
        object.insert("headers".into(), headers.into());
    }
    if let Some(body) = &rule.body {
        let value: Value = serde_json::from_str(body).map_err(|e| {
            usage(format!(
                "invalid --body '{body}': not JSON ({e}); use --text"
            ))
        })?;
        object.insert("body".into(), value);
    }
    if let Some(text) = &rule.text {
        object.insert("body".into(), text.clone().into());
    }
    if let Some(delay) = &rule.delay {
        let delay: DelaySpec = delay.parse().map_err(usage)?;
        object.insert("delay".into(), json!(delay));
    }
    if let Some(fault) = &rule.fault {
        let fault: FaultSpec = fault.parse().map_err(usage)?;
        object.insert("fault".into(), json!(fault));
    }
    Ok(Value::Object(object))
}

fn run_override(admin: &Admin, action: OverrideAction) -> Result<(String, Value), Failure> {
    Ok(match action {
        OverrideAction::List => {
            let list = admin.call("GET", "/api/overrides", None)?;
            (override_table(&list), list)
        }
        OverrideAction::Add(rule) => {
            let added = admin.call("POST", "/api/overrides", Some(&override_json(&rule)?))?;
            (format!("added override {}\n", added["id"]), added)
        }
        OverrideAction::Replace { id, rule } => {
            let path = format!("/api/overrides/{id}");
            let replaced = admin.call("PUT", &path, Some(&override_json(&rule)?))?;
            (format!("replaced override {id}\n"), replaced)
        }
        OverrideAction::Remove { id } => {
            admin.call("DELETE", &format!("/api/overrides/{id}"), None)?;
            (format!("removed override {id}\n"), json!({ "removed": id }))
        }
        OverrideAction::Clear => {
            let cleared = admin.call("DELETE", "/api/overrides", None)?;
            (
                format!("removed {} overrides\n", cleared["removed"]),
                cleared,
            )
        }
    })
}

fn override_table(list: &Value) -> String {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        return "no overrides\n".to_owned();
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(["id", "method", "path", "status", "body", "delay", "fault"]);
    for o in items {
        let parsed: Option<engine::runtime::OverrideSpec> = {
            let mut spec = o.clone();
            if let Some(map) = spec.as_object_mut() {
                map.remove("id");
            }
            serde_json::from_value(spec).ok()
        };
        let delay = parsed
            .as_ref()
            .and_then(|p| p.delay.as_ref())
            .map(ToString::to_string);
        let fault = parsed
            .as_ref()
            .and_then(|p| p.fault.as_ref())
            .map(ToString::to_string);
        table.add_row([
            o["id"].to_string(),
            o["method"].as_str().unwrap_or("*").to_owned(),
            o["path"].as_str().unwrap_or_default().to_owned(),
            o["status"]
                .as_u64()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            if o["body"].is_null() {
                String::new()
            } else {
                truncate(&o["body"].to_string(), 40)
            },
            delay.unwrap_or_default(),
            fault.unwrap_or_default(),
        ]);
    }
    format!("{table}\n")
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

pub fn faults(args: FaultsArgs) -> Result<ExitCode> {
    let admin = Admin::new(&args.admin.admin);
    let outcome = run_faults(&admin, args.action);
    finish(&args.admin, outcome)
}

fn run_faults(admin: &Admin, action: FaultsAction) -> Result<(String, Value), Failure> {
    let value = match action {
        FaultsAction::Show => admin.call("GET", "/api/faults", None)?,
        FaultsAction::Set { delay, fault } => {
            if delay.is_none() && fault.is_none() {
                return Err(usage(
                    "give --delay, --fault or both (or use 'faults clear')",
                ));
            }
            let faults = GlobalFaults {
                delay: delay.map(|d| d.parse()).transpose().map_err(usage)?,
                fault: fault.map(|f| f.parse()).transpose().map_err(usage)?,
            };
            admin.call("PUT", "/api/faults", Some(&json!(faults)))?
        }
        FaultsAction::Clear => {
            admin.call("DELETE", "/api/faults", None)?;
            json!({})
        }
    };
    let faults: GlobalFaults = serde_json::from_value(value.clone()).unwrap_or_default();
    let text = if faults.is_empty() {
        "no global delay or fault\n".to_owned()
    } else {
        format!(
            "delay: {}\nfault: {}\n",
            faults.delay.map_or("none".to_owned(), |d| d.to_string()),
            faults.fault.map_or("none".to_owned(), |f| f.to_string())
        )
    };
    Ok((text, value))
}
