//! A small HTTP/1.1 server to aim load at: it answers at once and counts what it served.
//!
//! `/slow` answers after 200 ms, `/close` answers with `Connection: close`, `/chunked`
//! sends its body in chunked encoding, `/status/N` answers with status N; everything else
//! gets `200 hello`.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Requests answered so far, shared with the server's connections.
#[derive(Debug, Default)]
pub struct Served(AtomicU64);

impl Served {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn answer(served: Arc<Served>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let mut response = Response::new(Full::new(Bytes::from_static(b"hello")).boxed());
    if path == "/slow" {
        tokio::time::sleep(Duration::from_millis(200)).await;
    } else if path == "/chunked" {
        // A body of unknown length goes out chunked.
        let frames = ["he", "l", "lo"].map(|s| Ok(Frame::data(Bytes::from_static(s.as_bytes()))));
        *response.body_mut() = StreamBody::new(futures_util::stream::iter(frames)).boxed();
    } else if path == "/close" {
        response
            .headers_mut()
            .insert(http::header::CONNECTION, "close".parse().unwrap());
    } else if let Some(code) = path.strip_prefix("/status/") {
        *response.status_mut() = code
            .parse::<u16>()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::BAD_REQUEST);
    }
    served.0.fetch_add(1, Ordering::Relaxed);
    Ok(response)
}

/// Serves on `listener` until the runtime ends.
pub async fn serve(listener: TcpListener, served: Arc<Served>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let served = served.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(served.clone(), req));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Starts the server on a free loopback port in the current runtime.
pub async fn start() -> (SocketAddr, Arc<Served>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let served = Arc::new(Served::default());
    tokio::spawn(serve(listener, served.clone()));
    (addr, served)
}
