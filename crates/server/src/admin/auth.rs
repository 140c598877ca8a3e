//! Admin handlers of auth emulation (`/api/auth`): show it with credentials masked, turn it
//! on or off, change what it accepts.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use bytes::Bytes;
use engine::auth::AuthPolicy;
use serde::Deserialize;
use serde_json::{Value, json};
use spec::SecurityScheme;

use super::{AdminState, ApiError};
use crate::control::AuthSettings;

/// A change of the settings: every field given replaces the current value, the others stay.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthChange {
    enabled: Option<bool>,
    api_keys: Option<Vec<String>>,
    scheme_keys: Option<BTreeMap<String, Vec<String>>>,
    bearer_tokens: Option<Vec<String>>,
    basic: Option<Vec<String>>,
}

/// A secret shown without giving it away: its first two characters and its length.
pub(crate) fn mask(secret: &str) -> String {
    let count = secret.chars().count();
    if count <= 4 {
        return format!("**** ({count} chars)");
    }
    let head: String = secret.chars().take(2).collect();
    format!("{head}**** ({count} chars)")
}

fn masked_list(list: &[String]) -> Vec<String> {
    list.iter().map(|s| mask(s)).collect()
}

/// The settings as shown: secrets masked, basic users in full, and the description's
/// schemes so that a reader knows what applies.
fn view(state: &AdminState, settings: &AuthSettings) -> Value {
    let policy = &settings.policy;
    let scheme_keys: BTreeMap<&String, Vec<String>> = policy
        .scheme_keys
        .iter()
        .map(|(scheme, keys)| (scheme, masked_list(keys)))
        .collect();
    let basic: Vec<Value> = policy
        .basic
        .iter()
        .map(|pair| {
            let (user, password) = pair.split_once(':').unwrap_or((pair, ""));
            json!({ "user": user, "password": mask(password) })
        })
        .collect();
    let schemes: Vec<Value> = state
        .engine
        .api()
        .security_schemes
        .iter()
        .map(|(name, scheme)| {
            let (kind, checked) = match scheme {
                SecurityScheme::ApiKey { name, location } => (
                    "apiKey".to_owned(),
                    format!("{} '{name}'", location.as_str()),
                ),
                SecurityScheme::Http { scheme } => (
                    format!("http {scheme}"),
                    "header 'Authorization'".to_owned(),
                ),
                SecurityScheme::OAuth2 => (
                    "oauth2".to_owned(),
                    "header 'Authorization' (bearer)".to_owned(),
                ),
                SecurityScheme::OpenIdConnect => (
                    "openIdConnect".to_owned(),
                    "header 'Authorization' (bearer)".to_owned(),
                ),
                SecurityScheme::MutualTls => ("mutualTLS".to_owned(), "not checked".to_owned()),
            };
            json!({ "name": name, "type": kind, "credential": checked })
        })
        .collect();
    json!({
        "enabled": settings.enabled,
        "presence_only": policy.is_presence_only(),
        "api_keys": masked_list(&policy.api_keys),
        "scheme_keys": scheme_keys,
        "bearer_tokens": masked_list(&policy.bearer_tokens),
        "basic": basic,
        "schemes": schemes,
    })
}

pub(super) async fn get_auth(State(state): State<AdminState>) -> Json<Value> {
    let settings = state.control.auth();
    Json(view(&state, &settings))
}

pub(super) async fn set_auth(
    State(state): State<AdminState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let change: AuthChange = if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object, e.g. {\"enabled\": true}",
        ));
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid auth settings: {e}")))?
    };
    let mut settings = state.control.auth();
    let AuthChange {
        enabled,
        api_keys,
        scheme_keys,
        bearer_tokens,
        basic,
    } = change;
    let policy = &mut settings.policy;
    settings.enabled = enabled.unwrap_or(settings.enabled);
    policy.api_keys = api_keys.unwrap_or(std::mem::take(&mut policy.api_keys));
    policy.scheme_keys = scheme_keys.unwrap_or(std::mem::take(&mut policy.scheme_keys));
    policy.bearer_tokens = bearer_tokens.unwrap_or(std::mem::take(&mut policy.bearer_tokens));
    policy.basic = basic.unwrap_or(std::mem::take(&mut policy.basic));
    check_policy(&settings.policy, &state)?;
    state.control.set_auth(settings.clone());
    tracing::info!(
        enabled = settings.enabled,
        presence_only = settings.policy.is_presence_only(),
        "auth emulation changed"
    );
    Ok(Json(view(&state, &settings)))
}

/// The policy's own checks, and scheme names that the description declares as apiKey.
fn check_policy(policy: &AuthPolicy, state: &AdminState) -> Result<(), ApiError> {
    policy.check().map_err(|detail| {
        let field = detail.split(':').next().map(str::to_owned);
        ApiError {
            status: axum::http::StatusCode::BAD_REQUEST,
            detail,
            field,
        }
    })?;
    policy.check_schemes(state.engine.api()).map_err(|detail| {
        let field = detail.split(':').next().map(str::to_owned);
        ApiError {
            status: axum::http::StatusCode::BAD_REQUEST,
            detail,
            field,
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn secrets_are_masked_but_their_length_shown() {
        assert_eq!(mask("s3cret-token"), "s3**** (12 chars)");
        assert_eq!(mask("abc"), "**** (3 chars)");
    }
}
