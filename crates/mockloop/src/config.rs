//! Resolved settings of `mockloop serve`: flags and environment over `mockloop.toml` over
//! defaults, validated once into typed values.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cli::{CacheMode, ServeArgs};

/// The keys `mockloop.toml` may hold; the same names as the long flags, with underscores.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub spec: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub admin_host: Option<String>,
    pub admin_port: Option<u16>,
    pub db: Option<PathBuf>,
    pub seed: Option<u64>,
    pub max_body_bytes: Option<usize>,
    pub log_body_bytes: Option<usize>,
    pub validate: Option<bool>,
    pub redact: Option<bool>,
    pub cors: Option<String>,
    pub max_concurrency: Option<usize>,
    pub queue: Option<usize>,
    pub scenarios: Option<PathBuf>,
    pub scenario: Option<String>,
    pub webhooks_allow_private: Option<bool>,
    pub callbacks: Option<bool>,
    pub webhook_attempts: Option<u32>,
    /// A duration such as `500ms`.
    pub webhook_backoff: Option<String>,
    /// A duration such as `10s`.
    pub webhook_timeout: Option<String>,
    pub stateful: Option<bool>,
    pub state_seed: Option<PathBuf>,
    pub auth: Option<FileAuth>,
    pub cache: Option<CacheMode>,
    /// A duration as text: `30s`, `5m`.
    pub cache_ttl: Option<String>,
    pub cache_max_bytes: Option<u64>,
    pub redis_url: Option<String>,
    pub cache_prefix: Option<String>,
}

/// The `[auth]` table of `mockloop.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAuth {
    pub enabled: Option<bool>,
    #[serde(default)]
    pub api_keys: Vec<String>,
    #[serde(default)]
    pub scheme_keys: std::collections::BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub bearer_tokens: Vec<String>,
    #[serde(default)]
    pub basic: Vec<String>,
}

impl FileConfig {
    /// Reads `path`; a missing default file is an empty configuration, a missing named one
    /// is an error.
    pub fn read(path: Option<&Path>) -> Result<(FileConfig, Option<PathBuf>)> {
        let (path, named) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("mockloop.toml"), false),
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if !named && err.kind() == std::io::ErrorKind::NotFound => {
                return Ok((FileConfig::default(), None));
            }
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("cannot read config '{}'", path.display()));
            }
        };
        let config = toml::from_str(&text)
            .with_context(|| format!("invalid config '{}'", path.display()))?;
        Ok((config, Some(path)))
    }
}

/// Everything `serve` needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub spec: String,
    pub api_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub db: PathBuf,
    pub seed: u64,
    pub max_body_bytes: usize,
    pub log_body_bytes: usize,
    pub validate: bool,
    pub redact: bool,
    pub cors: String,
    /// The concurrency limit; None when off.
    pub limit: Option<server::LimitConfig>,
    /// Scenario file to store at start.
    pub scenarios: Option<PathBuf>,
    /// Scenario to activate at start.
    pub scenario: Option<String>,
    /// Webhook and callback deliveries.
    pub hooks: hooks::HookSettings,
    /// Remember writes (stateful resources).
    pub stateful: bool,
    /// Seed file of the stateful store, stored at start.
    pub state_seed: Option<PathBuf>,
    /// Auth emulation: on or off, and what it accepts.
    pub auth: server::AuthSettings,
    /// The response cache; None when off.
    pub cache: Option<server::CacheConfig>,
}

/// Auth settings from flags over the `[auth]` table: a kind of credential given by flags
/// replaces the file's; any credential flag turns auth on.
fn resolve_auth(args: &ServeArgs, file: Option<FileAuth>) -> Result<server::AuthSettings> {
    let file = file.unwrap_or_default();
    let flags_given = !(args.auth_api_key.is_empty()
        && args.auth_bearer.is_empty()
        && args.auth_basic.is_empty());
    let pick = |flags: &Vec<String>, file: Vec<String>| {
        if flags.is_empty() {
            file
        } else {
            flags.clone()
        }
    };
    let policy = engine::auth::AuthPolicy {
        api_keys: pick(&args.auth_api_key, file.api_keys),
        scheme_keys: file.scheme_keys,
        bearer_tokens: pick(&args.auth_bearer, file.bearer_tokens),
        basic: pick(&args.auth_basic, file.basic),
    };
    policy
        .check()
        .map_err(|reason| anyhow::anyhow!("invalid auth setting {reason}"))?;
    Ok(server::AuthSettings {
        enabled: args.auth || flags_given || file.enabled.unwrap_or(false),
        policy,
    })
}

fn resolve_cache(args: &ServeArgs, file: &FileConfig) -> Result<Option<server::CacheConfig>> {
    let mode = args.cache.or(file.cache).unwrap_or(CacheMode::Off);
    let redis_url = args.redis_url.clone().or(file.redis_url.clone());
    let backend = match mode {
        CacheMode::Off => return Ok(None),
        CacheMode::Memory if redis_url.is_some() => {
            bail!("invalid redis_url: a Redis level needs cache 'redis' (the cache is 'memory')")
        }
        CacheMode::Memory => server::CacheBackend::Memory,
        CacheMode::Redis => server::CacheBackend::Redis,
    };
    let defaults = server::CacheConfig::default();
    let ttl = match (args.cache_ttl, &file.cache_ttl) {
        (Some(ttl), _) => ttl,
        (None, Some(text)) => humantime::parse_duration(text)
            .with_context(|| format!("invalid cache_ttl '{text}': write it like 30s or 5m"))?,
        (None, None) => defaults.ttl,
    };
    if ttl.is_zero() {
        bail!("invalid cache_ttl '0s': must be at least 1ms");
    }
    let max_bytes = args
        .cache_max_bytes
        .or(file.cache_max_bytes)
        .unwrap_or(defaults.max_bytes);
    if max_bytes < 1024 {
        bail!("invalid cache_max_bytes '{max_bytes}': must be at least 1024");
    }
    let prefix = args
        .cache_prefix
        .clone()
        .or(file.cache_prefix.clone())
        .unwrap_or(defaults.prefix);
    if prefix.is_empty() || prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("invalid cache_prefix '{prefix}': must be non-empty, without spaces");
    }
    Ok(Some(server::CacheConfig {
        backend,
        ttl,
        max_bytes,
        redis_url: redis_url.unwrap_or(defaults.redis_url),
        prefix,
    }))
}

fn address(key: &str, host: &str, port: u16) -> Result<SocketAddr> {
    let ip: IpAddr = match host {
        "localhost" => IpAddr::from([127, 0, 0, 1]),
        other => other
            .parse()
            .with_context(|| format!("invalid {key} '{other}': expected an IP address"))?,
    };
    Ok(SocketAddr::new(ip, port))
}

/// A duration from the file, naming the key on error.
fn file_duration(key: &str, text: Option<String>) -> Result<Option<std::time::Duration>> {
    text.map(|t| {
        humantime::parse_duration(&t)
            .with_context(|| format!("invalid {key} '{t}': write it like 500ms, 10s or 2m"))
    })
    .transpose()
}

/// Webhook and callback settings from flags over the file over defaults.
fn hook_settings(
    args: &ServeArgs,
    file: &mut FileConfig,
    seed: u64,
) -> Result<hooks::HookSettings> {
    let defaults = hooks::HookSettings::default();
    let max_attempts = args
        .webhook_attempts
        .or(file.webhook_attempts)
        .unwrap_or(defaults.max_attempts);
    if max_attempts == 0 {
        bail!("invalid webhook_attempts '0': must be at least 1");
    }
    let base_delay = match args.webhook_backoff {
        Some(d) => Some(d),
        None => file_duration("webhook_backoff", file.webhook_backoff.take())?,
    }
    .unwrap_or(defaults.base_delay);
    let timeout = match args.webhook_timeout {
        Some(d) => Some(d),
        None => file_duration("webhook_timeout", file.webhook_timeout.take())?,
    }
    .unwrap_or(defaults.timeout);
    if timeout.is_zero() {
        bail!("invalid webhook_timeout '0s': must be longer than zero");
    }
    Ok(hooks::HookSettings {
        allow_private: args.webhooks_allow_private || file.webhooks_allow_private.unwrap_or(false),
        callbacks: args.callbacks || file.callbacks.unwrap_or(false),
        max_attempts,
        base_delay,
        timeout,
        seed,
        ..defaults
    })
}

impl ServeConfig {
    /// Merges flags (clap has already put environment variables under them) over the file.
    pub fn resolve(args: ServeArgs, mut file: FileConfig) -> Result<ServeConfig> {
        let auth = resolve_auth(&args, file.auth.take())?;
        let cache = resolve_cache(&args, &file)?;
        let seed = args.seed.or(file.seed).unwrap_or(0);
        let hooks = hook_settings(&args, &mut file, seed)?;
        let Some(spec) = args.spec.or(file.spec) else {
            bail!("no API description given: pass a file or URL, e.g. 'mockloop serve api.yaml'");
        };
        let host = args
            .host
            .or(file.host)
            .unwrap_or_else(|| "127.0.0.1".to_owned());
        let admin_host = args
            .admin_host
            .or(file.admin_host)
            .unwrap_or_else(|| "127.0.0.1".to_owned());
        let max_body_bytes = args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(10 * 1024 * 1024);
        if max_body_bytes == 0 {
            bail!("invalid max_body_bytes '0': must be at least 1");
        }
        let max_concurrency = args.max_concurrency.or(file.max_concurrency).unwrap_or(0);
        let queue = args.queue.or(file.queue).unwrap_or(0);
        let limit = match (max_concurrency, queue) {
            (0, 0) => None,
            (0, queue) => bail!("invalid queue '{queue}': a queue needs max_concurrency"),
            (max_concurrency, queue) => Some(server::LimitConfig {
                max_concurrency,
                queue,
            }),
        };
        let stateful = args.stateful || file.stateful.unwrap_or(false);
        let state_seed = args.state_seed.or(file.state_seed);
        if let (false, Some(seed)) = (stateful, &state_seed) {
            bail!(
                "invalid state_seed '{}': a seed needs stateful mode (--stateful)",
                seed.display()
            );
        }
        Ok(ServeConfig {
            spec,
            api_addr: address("host", &host, args.port.or(file.port).unwrap_or(8000))?,
            admin_addr: address(
                "admin_host",
                &admin_host,
                args.admin_port.or(file.admin_port).unwrap_or(8001),
            )?,
            db: args
                .db
                .or(file.db)
                .unwrap_or_else(|| PathBuf::from("mockloop.db")),
            seed,
            max_body_bytes,
            log_body_bytes: args
                .log_body_bytes
                .or(file.log_body_bytes)
                .unwrap_or(64 * 1024),
            validate: !args.no_validate && file.validate.unwrap_or(true),
            redact: !args.no_redact && file.redact.unwrap_or(true),
            cors: args.cors.or(file.cors).unwrap_or_else(|| "*".to_owned()),
            limit,
            scenarios: args.scenarios.or(file.scenarios),
            scenario: args.scenario.or(file.scenario),
            auth,
            cache,
            stateful,
            state_seed,
            hooks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(flags: &[&str]) -> ServeArgs {
        let mut argv = vec!["mockloop", "serve"];
        argv.extend_from_slice(flags);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Serve(args) => args,
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn flags_win_over_file_and_file_over_defaults() {
        let file: FileConfig =
            toml::from_str("port = 9000\nadmin_port = 9001\nseed = 7\nvalidate = false").unwrap();
        let config = ServeConfig::resolve(args(&["api.yaml", "--port", "9100"]), file).unwrap();
        assert_eq!(config.api_addr.port(), 9100);
        assert_eq!(config.admin_addr.port(), 9001);
        assert_eq!(config.seed, 7);
        assert!(!config.validate);
        assert_eq!(config.db, PathBuf::from("mockloop.db"));
    }

    #[test]
    fn bad_host_names_the_key_and_value() {
        let err = ServeConfig::resolve(
            args(&["a.yaml", "--host", "nowhere"]),
            FileConfig::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid host 'nowhere': expected an IP address"
        );
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let err = toml::from_str::<FileConfig>("prot = 1").unwrap_err();
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn concurrency_limit_is_off_by_default_and_merges_like_the_rest() {
        let config = ServeConfig::resolve(args(&["a.yaml"]), FileConfig::default()).unwrap();
        assert_eq!(config.limit, None);
        let file: FileConfig = toml::from_str("max_concurrency = 8\nqueue = 16").unwrap();
        let config = ServeConfig::resolve(args(&["a.yaml", "--queue", "2"]), file).unwrap();
        assert_eq!(
            config.limit,
            Some(server::LimitConfig {
                max_concurrency: 8,
                queue: 2
            })
        );
        let file: FileConfig = toml::from_str("max_concurrency = 8").unwrap();
        let config =
            ServeConfig::resolve(args(&["a.yaml", "--max-concurrency", "0"]), file).unwrap();
        assert_eq!(config.limit, None);
    }

    #[test]
    fn a_queue_without_a_limit_is_refused() {
        let err = ServeConfig::resolve(args(&["a.yaml", "--queue", "4"]), FileConfig::default())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid queue '4': a queue needs max_concurrency"
        );
    }

    #[test]
    fn auth_is_off_by_default_and_credential_flags_replace_the_file_and_turn_it_on() {
        let config = ServeConfig::resolve(args(&["a.yaml"]), FileConfig::default()).unwrap();
        assert!(!config.auth.enabled);
        let file: FileConfig =
            toml::from_str("[auth]\napi_keys = [\"k1\"]\nbasic = [\"ann:pw\"]").unwrap();
        let config = ServeConfig::resolve(args(&["a.yaml", "--auth-api-key", "k2"]), file).unwrap();
        assert!(config.auth.enabled);
        assert_eq!(config.auth.policy.api_keys, ["k2"]);
        assert_eq!(config.auth.policy.basic, ["ann:pw"]);
        let err = ServeConfig::resolve(
            args(&["a.yaml", "--auth-basic", "nocolon"]),
            FileConfig::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid auth setting basic: 'nocolon' is not user:password"
        );
    }

    #[test]
    fn cache_settings_merge_and_bad_ones_are_named() {
        let config = ServeConfig::resolve(args(&["a.yaml"]), FileConfig::default()).unwrap();
        assert_eq!(config.cache, None);
        let file: FileConfig =
            toml::from_str("cache = \"redis\"\ncache_ttl = \"5m\"\ncache_prefix = \"t1\"").unwrap();
        let config = ServeConfig::resolve(args(&["a.yaml", "--cache-ttl", "30s"]), file).unwrap();
        let cache = config.cache.expect("on");
        assert_eq!(cache.backend, server::CacheBackend::Redis);
        assert_eq!(cache.ttl, std::time::Duration::from_secs(30));
        assert_eq!(cache.prefix, "t1");
        let file: FileConfig = toml::from_str("cache = \"memory\"\ncache_ttl = \"soon\"").unwrap();
        let err = ServeConfig::resolve(args(&["a.yaml"]), file).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid cache_ttl 'soon'"),
            "{err}"
        );
        let err = ServeConfig::resolve(
            args(&[
                "a.yaml",
                "--cache",
                "memory",
                "--redis-url",
                "redis://127.0.0.1:1",
            ]),
            FileConfig::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("invalid redis_url"), "{err}");
    }

    #[test]
    fn stateful_mode_is_off_by_default_and_a_seed_needs_it() {
        let config = ServeConfig::resolve(args(&["a.yaml"]), FileConfig::default()).unwrap();
        assert!(!config.stateful);
        let file: FileConfig = toml::from_str("stateful = true\nstate_seed = 'seed.yaml'").unwrap();
        let config = ServeConfig::resolve(args(&["a.yaml"]), file).unwrap();
        assert!(config.stateful);
        assert_eq!(config.state_seed, Some(PathBuf::from("seed.yaml")));
        let err = ServeConfig::resolve(
            args(&["a.yaml", "--state-seed", "seed.json"]),
            FileConfig::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid state_seed 'seed.json': a seed needs stateful mode (--stateful)"
        );
    }

    #[test]
    fn webhook_settings_merge_and_bad_values_are_named() {
        let config = ServeConfig::resolve(args(&["a.yaml"]), FileConfig::default()).unwrap();
        assert!(!config.hooks.allow_private);
        assert!(!config.hooks.callbacks);
        assert_eq!(config.hooks.max_attempts, 5);
        let file: FileConfig = toml::from_str(
            "webhooks_allow_private = true\ncallbacks = true\nwebhook_attempts = 3\n\
             webhook_backoff = \"20ms\"\nwebhook_timeout = \"2s\"",
        )
        .unwrap();
        let config =
            ServeConfig::resolve(args(&["a.yaml", "--webhook-attempts", "7"]), file).unwrap();
        assert!(config.hooks.allow_private && config.hooks.callbacks);
        assert_eq!(config.hooks.max_attempts, 7);
        assert_eq!(
            config.hooks.base_delay,
            std::time::Duration::from_millis(20)
        );
        assert_eq!(config.hooks.timeout, std::time::Duration::from_secs(2));
        let file: FileConfig = toml::from_str("webhook_backoff = \"soon\"").unwrap();
        let err = ServeConfig::resolve(args(&["a.yaml"]), file).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid webhook_backoff 'soon'"),
            "{err}"
        );
        let err = ServeConfig::resolve(
            args(&["a.yaml", "--webhook-attempts", "0"]),
            FileConfig::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid webhook_attempts '0': must be at least 1"
        );
    }

    #[test]
    fn missing_spec_is_explained() {
        let err = ServeConfig::resolve(args(&[]), FileConfig::default()).unwrap_err();
        assert!(err.to_string().contains("no API description given"));
    }
}
