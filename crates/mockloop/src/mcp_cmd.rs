//! `mockloop mcp`: resolve the flags into `mcp::Settings` and serve MCP on stdio or over
//! streamable HTTP on a loopback address.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::cli::McpArgs;
use crate::exit;

pub fn run(args: McpArgs) -> Result<ExitCode> {
    let settings = match settings(&args) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("error: {err:#}");
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
    let http = match args.http.as_deref().map(loopback_addr).transpose() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("error: {err:#}");
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match http {
            None => {
                tracing::info!("serving MCP on stdio");
                mcp::serve_stdio(settings, shutdown_signal()).await
            }
            Some(addr) => serve_http(addr, settings).await,
        }
    })?;
    // A blocking admin call still waiting on a dead mock must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    Ok(ExitCode::SUCCESS)
}

fn settings(args: &McpArgs) -> Result<mcp::Settings> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let allow_dirs = if args.allow_dirs.is_empty() {
        vec![cwd.clone()]
    } else {
        args.allow_dirs.clone()
    };
    let output_root = args.output_root.clone().unwrap_or(cwd);
    mcp::Settings::new(
        allow_dirs,
        output_root,
        args.max_fetch_bytes,
        args.fetch_timeout,
        args.allow_remote_servers,
    )
}

/// The HTTP endpoint has no authentication, so it only listens on loopback.
fn loopback_addr(text: &str) -> Result<SocketAddr> {
    let addr: SocketAddr = text
        .replace("localhost", "127.0.0.1")
        .parse()
        .with_context(|| {
            format!("invalid --http '{text}': expected IP:PORT, e.g. 127.0.0.1:8765")
        })?;
    if !addr.ip().is_loopback() {
        bail!(
            "invalid --http '{text}': the MCP endpoint has no authentication, so it only listens \
             on a loopback address (127.0.0.1 or [::1])"
        );
    }
    Ok(addr)
}

async fn serve_http(addr: SocketAddr, settings: mcp::Settings) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for MCP"))?;
    let local = listener.local_addr()?;
    {
        use std::io::Write as _;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(
            stdout,
            "mockloop: MCP over streamable HTTP\n  mcp:   http://{local}/mcp"
        );
        let _ = stdout.flush();
    }
    mcp::serve_http(listener, settings, shutdown_signal()).await
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_http_endpoint_listens_on_loopback_only() {
        assert!(loopback_addr("127.0.0.1:0").is_ok());
        assert!(loopback_addr("localhost:8765").is_ok());
        assert!(loopback_addr("[::1]:1").is_ok());
        let err = loopback_addr("0.0.0.0:8765").unwrap_err().to_string();
        assert!(err.contains("loopback"), "{err}");
        assert!(loopback_addr("nonsense").is_err());
    }
}
