//! Resolved settings of `mockloop serve`: flags and environment over `mockloop.toml` over
//! defaults, validated once into typed values.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cli::ServeArgs;

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
    pub stateful: Option<bool>,
    pub state_seed: Option<PathBuf>,
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
    /// Remember writes (stateful resources).
    pub stateful: bool,
    /// Seed file of the stateful store, stored at start.
    pub state_seed: Option<PathBuf>,
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

impl ServeConfig {
    /// Merges flags (clap has already put environment variables under them) over the file.
    pub fn resolve(args: ServeArgs, file: FileConfig) -> Result<ServeConfig> {
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
            seed: args.seed.or(file.seed).unwrap_or(0),
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
            stateful,
            state_seed,
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
    fn missing_spec_is_explained() {
        let err = ServeConfig::resolve(args(&[]), FileConfig::default()).unwrap_err();
        assert!(err.to_string().contains("no API description given"));
    }
}
