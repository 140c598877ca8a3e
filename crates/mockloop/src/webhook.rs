//! `mockloop webhook`: register, list, test and delete the webhooks of a running mock and
//! read the delivery history, through its admin API.

use std::process::ExitCode;

use anyhow::Result;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::{Map, Value, json};

use crate::cli::{WebhookAction, WebhookArgs};
use crate::remote::Admin;
use crate::rules::{Failure, finish, usage};

pub fn run(args: WebhookArgs) -> Result<ExitCode> {
    let admin = Admin::new(&args.admin.admin);
    let outcome = run_action(&admin, args.action);
    finish(&args.admin, outcome)
}

fn run_action(admin: &Admin, action: WebhookAction) -> Result<(String, Value), Failure> {
    Ok(match action {
        WebhookAction::Add {
            url,
            events,
            secret,
            headers,
            description,
        } => {
            let body = add_body(url, events, secret, &headers, description)?;
            let stored = admin.call("POST", "/api/webhooks", Some(&body))?;
            (
                format!("registered webhook {}\n", webhook_line(&stored)),
                stored,
            )
        }
        WebhookAction::List => {
            let list = admin.call("GET", "/api/webhooks", None)?;
            (webhook_table(&list), list)
        }
        WebhookAction::Show { id } => {
            let found = admin.call("GET", &format!("/api/webhooks/{id}"), None)?;
            let text = format!(
                "{}\n{}\n",
                webhook_line(&found),
                serde_json::to_string_pretty(&found).unwrap_or_default()
            );
            (text, found)
        }
        WebhookAction::Delete { id } => {
            admin.call("DELETE", &format!("/api/webhooks/{id}"), None)?;
            (format!("deleted webhook {id}\n"), json!({ "deleted": id }))
        }
        WebhookAction::Test { id } => {
            let attempt = admin.call("POST", &format!("/api/webhooks/{id}/test"), None)?;
            let text = match attempt["outcome"].as_str() {
                Some("delivered") => format!(
                    "test delivery to webhook {id} delivered: HTTP {} in {} ms\n",
                    attempt["status"],
                    latency(&attempt["latency_ms"])
                ),
                _ => format!(
                    "test delivery to webhook {id} {}: {}\n",
                    attempt["outcome"].as_str().unwrap_or("failed"),
                    attempt["error"].as_str().unwrap_or("no answer")
                ),
            };
            (text, attempt)
        }
        WebhookAction::Deliveries { id, kind, limit } => {
            let mut query = format!("?limit={limit}");
            if let Some(kind) = &kind {
                if !matches!(kind.as_str(), "webhook" | "callback") {
                    return Err(usage(format!(
                        "invalid --kind '{kind}': expected webhook or callback"
                    )));
                }
                query.push_str(&format!("&kind={kind}"));
            }
            let path = match id {
                Some(id) => format!("/api/webhooks/{id}/deliveries{query}"),
                None => format!("/api/deliveries{query}"),
            };
            let list = admin.call("GET", &path, None)?;
            (delivery_table(&list), list)
        }
    })
}

/// The admin API's body for `webhook add`; a malformed header is reported before anything
/// is sent.
fn add_body(
    url: String,
    events: Vec<String>,
    secret: Option<String>,
    headers: &[String],
    description: Option<String>,
) -> Result<Value, Failure> {
    let mut header_map = Map::new();
    for header in headers {
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| usage(format!("invalid --header '{header}': expected NAME:VALUE")))?;
        header_map.insert(name.trim().to_owned(), value.trim().into());
    }
    let events = if events.is_empty() {
        vec!["*".to_owned()]
    } else {
        events
    };
    let mut body = json!({ "url": url, "events": events, "headers": header_map });
    if let Some(secret) = secret {
        body["secret"] = secret.into();
    }
    if let Some(description) = description {
        body["description"] = description.into();
    }
    Ok(body)
}

fn events_text(hook: &Value) -> String {
    hook["events"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

fn webhook_line(hook: &Value) -> String {
    format!(
        "{}: {} [{}]{}",
        hook["id"],
        hook["url"].as_str().unwrap_or_default(),
        events_text(hook),
        if hook["secret"].is_string() {
            " (signed)"
        } else {
            ""
        }
    )
}

fn webhook_table(list: &Value) -> String {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        return "no webhooks registered\n".to_owned();
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "id",
        "url",
        "events",
        "signed",
        "description",
    ]);
    for hook in items {
        table.add_row([
            hook["id"].to_string(),
            hook["url"].as_str().unwrap_or_default().to_owned(),
            events_text(hook),
            if hook["secret"].is_string() {
                "yes"
            } else {
                ""
            }
            .to_owned(),
            hook["description"].as_str().unwrap_or_default().to_owned(),
        ]);
    }
    format!("{table}\n")
}

fn latency(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(String::new, |ms| format!("{ms:.1}"))
}

fn delivery_table(list: &Value) -> String {
    let items = list.as_array().map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        return "no deliveries recorded\n".to_owned();
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "at", "kind", "hook", "event", "url", "try", "status", "ms", "outcome", "error",
    ]);
    for d in items {
        table.add_row([
            d["at"].as_str().unwrap_or_default().to_owned(),
            d["kind"].as_str().unwrap_or_default().to_owned(),
            d["webhook_id"]
                .as_i64()
                .map_or_else(String::new, |id| id.to_string()),
            d["event"].as_str().unwrap_or_default().to_owned(),
            d["url"].as_str().unwrap_or_default().to_owned(),
            d["attempt"].to_string(),
            d["status"]
                .as_u64()
                .map_or_else(String::new, |s| s.to_string()),
            latency(&d["latency_ms"]),
            d["outcome"].as_str().unwrap_or_default().to_owned(),
            d["error"].as_str().unwrap_or_default().to_owned(),
        ]);
    }
    format!("{table}\n")
}
