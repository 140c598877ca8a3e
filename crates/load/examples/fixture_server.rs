//! The test server of the load crate as a program, to measure load generators against:
//! `cargo run --release -p load --example fixture_server -- [PORT]` prints its address.
//!
//! It runs on one thread so that pinning it to a core (`taskset -c 1`) gives it that core.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;

fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("invalid port '{arg}'"),
            )
        })?,
        None => 0,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on http://{}", listener.local_addr()?);
        support::serve(listener, Arc::new(support::Served::default())).await;
        Ok(())
    })
}
