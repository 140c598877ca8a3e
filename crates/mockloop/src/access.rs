//! `mockloop auth` and `mockloop cache`: auth emulation and the response cache of a running
//! mock, through its admin API.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::{Value, json};

use crate::cli::{AuthAction, AuthArgs, AuthCredentials, CacheAction, CacheArgs};
use crate::remote::Admin;
use crate::rules::{Failure, finish, usage};

pub fn auth(args: AuthArgs) -> Result<ExitCode> {
    let admin = Admin::new(&args.admin.admin);
    let outcome = run_auth(&admin, args.action);
    finish(&args.admin, outcome)
}

fn run_auth(admin: &Admin, action: AuthAction) -> Result<(String, Value), Failure> {
    let value = match action {
        AuthAction::Show => admin.call("GET", "/api/auth", None)?,
        AuthAction::Set(credentials) => {
            admin.call("PUT", "/api/auth", Some(&change(&credentials)?))?
        }
        AuthAction::Off => admin.call("PUT", "/api/auth", Some(&json!({ "enabled": false })))?,
    };
    Ok((auth_text(&value), value))
}

/// The body of `auth set`: on, plus every kind of credential given.
fn change(credentials: &AuthCredentials) -> Result<Value, Failure> {
    let mut body = serde_json::Map::new();
    body.insert("enabled".into(), true.into());
    if credentials.presence_only {
        for kind in ["api_keys", "bearer_tokens", "basic"] {
            body.insert(kind.into(), json!([]));
        }
        body.insert("scheme_keys".into(), json!({}));
        return Ok(Value::Object(body));
    }
    if !credentials.api_keys.is_empty() {
        body.insert("api_keys".into(), json!(credentials.api_keys));
    }
    if !credentials.scheme_keys.is_empty() {
        let mut by_scheme: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for pair in &credentials.scheme_keys {
            let (scheme, key) = pair.split_once('=').ok_or_else(|| {
                usage(format!(
                    "invalid --scheme-key '{pair}': expected SCHEME=KEY"
                ))
            })?;
            by_scheme.entry(scheme).or_default().push(key);
        }
        body.insert("scheme_keys".into(), json!(by_scheme));
    }
    if !credentials.bearer_tokens.is_empty() {
        body.insert("bearer_tokens".into(), json!(credentials.bearer_tokens));
    }
    if !credentials.basic.is_empty() {
        body.insert("basic".into(), json!(credentials.basic));
    }
    Ok(Value::Object(body))
}

fn auth_text(value: &Value) -> String {
    let mut text = String::new();
    let on = value["enabled"].as_bool() == Some(true);
    let _ = writeln!(text, "auth emulation: {}", if on { "on" } else { "off" });
    if value["presence_only"].as_bool() == Some(true) {
        let _ = writeln!(text, "accepted: any credential present");
    }
    let list = |v: &Value| -> String {
        v.as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    for (label, key) in [("api keys", "api_keys"), ("bearer tokens", "bearer_tokens")] {
        if value[key].as_array().is_some_and(|a| !a.is_empty()) {
            let _ = writeln!(text, "{label}: {}", list(&value[key]));
        }
    }
    if let Some(map) = value["scheme_keys"].as_object() {
        for (scheme, keys) in map {
            let _ = writeln!(text, "api keys of {scheme}: {}", list(keys));
        }
    }
    if let Some(pairs) = value["basic"].as_array().filter(|a| !a.is_empty()) {
        let users: Vec<String> = pairs
            .iter()
            .map(|p| {
                format!(
                    "{} (password {})",
                    p["user"].as_str().unwrap_or_default(),
                    p["password"].as_str().unwrap_or_default()
                )
            })
            .collect();
        let _ = writeln!(text, "basic users: {}", users.join(", "));
    }
    if let Some(schemes) = value["schemes"].as_array() {
        let _ = writeln!(text, "schemes of the description:");
        if schemes.is_empty() {
            let _ = writeln!(text, "  none");
        }
        for s in schemes {
            let _ = writeln!(
                text,
                "  {} ({}): {}",
                s["name"].as_str().unwrap_or_default(),
                s["type"].as_str().unwrap_or_default(),
                s["credential"].as_str().unwrap_or_default()
            );
        }
    }
    text
}

pub fn cache(args: CacheArgs) -> Result<ExitCode> {
    let admin = Admin::new(&args.admin.admin);
    let outcome = run_cache(&admin, args.action);
    finish(&args.admin, outcome)
}

fn run_cache(admin: &Admin, action: CacheAction) -> Result<(String, Value), Failure> {
    Ok(match action {
        CacheAction::Stats => {
            let stats = admin.call("GET", "/api/cache", None)?;
            (stats_text(&stats), stats)
        }
        CacheAction::Clear => {
            let cleared = admin.call("DELETE", "/api/cache", None)?;
            let text = format!(
                "cleared {} memory entries and {} redis keys\n",
                cleared["memory_entries"], cleared["redis_keys"]
            );
            (text, cleared)
        }
    })
}

fn stats_text(stats: &Value) -> String {
    let mut text = format!(
        "backend: {}, ttl {} s, memory bound {} bytes\n",
        stats["backend"].as_str().unwrap_or_default(),
        stats["ttl_seconds"].as_f64().unwrap_or_default(),
        stats["max_bytes"]
    );
    let m = &stats["memory"];
    let _ = writeln!(
        text,
        "memory: {} hits, {} misses, {} entries, {} bytes",
        m["hits"], m["misses"], m["entries"], m["bytes"]
    );
    let r = &stats["redis"];
    if !r.is_null() {
        let _ = writeln!(
            text,
            "redis ('{}'): {} hits, {} misses, {} errors, {} skipped",
            r["prefix"].as_str().unwrap_or_default(),
            r["hits"],
            r["misses"],
            r["errors"],
            r["skipped"]
        );
    }
    let _ = writeln!(
        text,
        "bypassed: {}, invalidations: {}",
        stats["bypassed"], stats["invalidations"]
    );
    text
}
