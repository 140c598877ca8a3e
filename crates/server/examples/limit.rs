//! The limit for benchmarks: a bare hyper server that answers every request with the same
//! status, content type and body, with no routing, validation or logging.
//!
//! `cargo xtask bench` starts it with the bytes the mock serves on the measured route, so
//! that the mock's throughput and latency can be read as a ratio to what this machine and
//! hyper can do at all.
//!
//! ```text
//! limit --port 0 --content-type application/json --body-file body.json
//! ```
//!
//! It prints `listening on ADDR` once bound. Worker threads follow `TOKIO_WORKER_THREADS`,
//! like `mockloop serve`.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

struct Args {
    port: u16,
    content_type: HeaderValue,
    body: Bytes,
}

fn parse_args() -> Result<Args, String> {
    let mut port = 0u16;
    let mut content_type = HeaderValue::from_static("application/json");
    let mut body = Bytes::from_static(b"{}");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => {
                let raw = value()?;
                port = raw
                    .parse()
                    .map_err(|_| format!("--port: '{raw}' is not a port"))?;
            }
            "--content-type" => {
                let raw = value()?;
                content_type = HeaderValue::from_str(&raw)
                    .map_err(|_| format!("--content-type: '{raw}' is not a header value"))?;
            }
            "--body-file" => {
                let path = value()?;
                body = std::fs::read(&path)
                    .map_err(|err| format!("--body-file: cannot read '{path}': {err}"))?
                    .into();
            }
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(Args {
        port,
        content_type,
        body,
    })
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(serve(args));
}

async fn serve(args: Args) {
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("error: cannot listen on {addr}: {err}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().expect("bound address");
    println!("listening on {local}");
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (content_type, body) = (args.content_type.clone(), args.body.clone());
        let service = service_fn(move |_req| {
            let mut response = Response::new(Full::new(body.clone()));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type.clone());
            async move { Ok::<_, Infallible>(response) }
        });
        let conn = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}
