//! `mockloop state`: inspect, change, reset and seed the items of a stateful mock through
//! its admin API, with text for people and `--json` for scripts; and the seed files that
//! `serve --state-seed` and `state seed` read.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::{Value, json};

use crate::cli::{StateAction, StateArgs};
use crate::remote::Admin;
use crate::rules::{Failure, finish, segment, truncate, usage};

/// A JSON or YAML file as JSON (`.json` is read as JSON, anything else as YAML, which
/// JSON also is).
pub fn read_document(path: &Path, what: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} '{}': {e}", path.display()))?;
    let parsed = if path.extension().is_some_and(|ext| ext == "json") {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| format!("invalid {what} '{}': {e}", path.display()))
}

/// An item key as a path: each part encoded, the slashes between them kept.
fn key_path(key: &str) -> String {
    key.split('/').map(segment).collect::<Vec<_>>().join("/")
}

pub fn run(args: StateArgs) -> Result<ExitCode> {
    let admin = Admin::new(&args.admin.admin);
    let outcome = run_action(&admin, args.action);
    finish(&args.admin, outcome)
}

fn run_action(admin: &Admin, action: StateAction) -> Result<(String, Value), Failure> {
    Ok(match action {
        StateAction::List => {
            let summary = admin.call("GET", "/api/state", None)?;
            (collections_table(&summary), summary)
        }
        StateAction::Show {
            collection,
            offset,
            limit,
        } => {
            let path = format!(
                "/api/state/{}?offset={offset}&limit={limit}",
                segment(&collection)
            );
            let listing = admin.call("GET", &path, None)?;
            (items_text(&listing), listing)
        }
        StateAction::Get { collection, key } => {
            let path = format!("/api/state/{}/{}", segment(&collection), key_path(&key));
            let item = admin.call("GET", &path, None)?;
            let text = format!(
                "{}\n",
                serde_json::to_string_pretty(&item["value"]).unwrap_or_default()
            );
            (text, item)
        }
        StateAction::Put {
            collection,
            key,
            body,
            file,
        } => {
            let value = match (body, file) {
                (Some(body), _) => serde_json::from_str(&body)
                    .map_err(|e| usage(format!("invalid --body '{body}': not JSON ({e})")))?,
                (None, Some(file)) => read_document(&file, "item file").map_err(usage)?,
                (None, None) => return Err(usage("give the item with --body or --file")),
            };
            let path = format!("/api/state/{}/{}", segment(&collection), key_path(&key));
            let stored = admin.call("PUT", &path, Some(&value))?;
            let text = format!("stored {}\n", stored["path"].as_str().unwrap_or_default());
            (text, stored)
        }
        StateAction::Delete { collection, key } => {
            let path = format!("/api/state/{}/{}", segment(&collection), key_path(&key));
            admin.call("DELETE", &path, None)?;
            (
                format!("deleted item '{key}' of '{collection}'\n"),
                json!({ "deleted": { "collection": collection, "key": key } }),
            )
        }
        StateAction::Reset { collection } => {
            let path = match &collection {
                Some(name) => format!("/api/state/{}", segment(name)),
                None => "/api/state".to_owned(),
            };
            let removed = admin.call("DELETE", &path, None)?;
            let text = format!(
                "removed {} items{}\n",
                removed["removed"],
                collection.map_or(String::new(), |c| format!(" of '{c}'"))
            );
            (text, removed)
        }
        StateAction::Seed { file } => {
            let document = read_document(&file, "seed file").map_err(usage)?;
            let report = admin.call("POST", "/api/state/seed", Some(&document))?;
            let mut text = format!("stored {} items", report["stored"]);
            if let Some(counts) = report["collections"].as_object()
                && !counts.is_empty()
            {
                let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{c} {n}")).collect();
                let _ = write!(text, " ({})", parts.join(", "));
            }
            text.push('\n');
            (text, report)
        }
    })
}

fn collections_table(summary: &Value) -> String {
    let items = summary["collections"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if items.is_empty() {
        return "the description declares no collection\n".to_owned();
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "collection",
        "template",
        "id",
        "items",
        "writes",
    ]);
    for c in items {
        table.add_row([
            c["name"].as_str().unwrap_or_default().to_owned(),
            c["template"].as_str().unwrap_or_default().to_owned(),
            format!(
                "{} ({})",
                c["id_field"].as_str().unwrap_or_default(),
                c["id_kind"].as_str().unwrap_or_default()
            ),
            c["count"].to_string(),
            if c["writable"].as_bool() == Some(true) {
                "yes".to_owned()
            } else {
                "seed only".to_owned()
            },
        ]);
    }
    format!("{table}\n")
}

fn items_text(listing: &Value) -> String {
    let items = listing["items"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let count = listing["count"].as_u64().unwrap_or(items.len() as u64);
    let mut text = format!(
        "{} ({}): {count} {}\n",
        listing["name"].as_str().unwrap_or_default(),
        listing["template"].as_str().unwrap_or_default(),
        if count == 1 { "item" } else { "items" }
    );
    if (items.len() as u64) < count {
        let offset = listing["offset"].as_u64().unwrap_or(0);
        let _ = writeln!(
            text,
            "showing {} to {} (--offset, --limit)",
            offset + 1,
            offset + items.len() as u64
        );
    }
    for item in items {
        let _ = writeln!(
            text,
            "{}  {}",
            item["path"].as_str().unwrap_or_default(),
            truncate(&item["value"].to_string(), 200)
        );
    }
    text
}
