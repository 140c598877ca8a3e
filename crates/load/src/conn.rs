//! One keep-alive HTTP/1.1 connection per task, driven by that task itself, reopened when
//! the server closes it.
//!
//! hyper's connection future is usually spawned as a task of its own; here the task that
//! sends also polls it, beside each exchange. That saves a wake-up across tasks on every
//! read and write, which is most of the cost of a request over loopback.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONNECTION;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::record::{Answer, ErrorKind};
use crate::target::RequestKind;

type Driver = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    driver: Pin<Box<Driver>>,
}

/// How an exchange on an open connection ended.
enum Failure {
    /// The connection had closed before the request was sent: send again on a new one,
    /// without counting an error.
    Stale,
    Error(ErrorKind),
}

/// A task's client: at most one connection, and a timer reused for every request.
pub(crate) struct Client {
    addr: SocketAddr,
    timeout: Duration,
    conn: Option<Conn>,
    timer: Pin<Box<Sleep>>,
}

impl Client {
    pub fn new(addr: SocketAddr, timeout: Duration) -> Client {
        Client {
            addr,
            timeout,
            conn: None,
            timer: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    /// Sends one request of `kind` and reads the whole answer, within the timeout.
    pub async fn send(&mut self, kind: &RequestKind) -> Result<Answer, ErrorKind> {
        let Client {
            addr,
            timeout,
            conn,
            timer,
        } = self;
        timer.as_mut().reset(Instant::now() + *timeout);
        let attempt = async {
            // One resend at most: a connection found closed is replaced once.
            for _ in 0..2 {
                let stale = match conn.as_mut() {
                    Some(open) => closed_while_idle(open).await,
                    None => true,
                };
                if stale {
                    *conn = None;
                    *conn = Some(connect(*addr).await?);
                }
                let open = conn.as_mut().expect("connected above");
                match exchange(open, kind).await {
                    Ok((answer, keep)) => {
                        if !keep {
                            *conn = None;
                        }
                        return Ok(answer);
                    }
                    Err(Failure::Stale) => *conn = None,
                    Err(Failure::Error(kind)) => {
                        *conn = None;
                        return Err(kind);
                    }
                }
            }
            Err(ErrorKind::Reset)
        };
        let result = tokio::select! {
            biased;
            result = attempt => result,
            () = timer.as_mut() => Err(ErrorKind::Timeout),
        };
        if result == Err(ErrorKind::Timeout) {
            // The answer may still arrive; the connection cannot be reused in between.
            *conn = None;
        }
        result
    }
}

async fn connect(addr: SocketAddr) -> Result<Conn, ErrorKind> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|_| ErrorKind::Connect)?;
    // Requests are small and written whole; waiting to coalesce them only adds latency.
    let _ = stream.set_nodelay(true);
    let (sender, driver) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|_| ErrorKind::Connect)?;
    Ok(Conn {
        sender,
        driver: Box::pin(driver),
    })
}

/// Polls an idle connection once: a server that closed it since the last answer is noticed
/// here rather than as a failed request.
async fn closed_while_idle(conn: &mut Conn) -> bool {
    let ended = poll_fn(|cx| Poll::Ready(conn.driver.as_mut().poll(cx).is_ready())).await;
    ended || conn.sender.is_closed()
}

/// One request and its whole answer. Returns whether the connection can be used again.
async fn exchange(conn: &mut Conn, kind: &RequestKind) -> Result<(Answer, bool), Failure> {
    let Conn { sender, driver } = conn;
    let mut work = pin!(async {
        sender.ready().await.map_err(|_| Failure::Stale)?;
        let response = sender
            .send_request(kind.request())
            .await
            .map_err(|err| classify(&err))?;
        let keep = !response
            .headers()
            .get(CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut bytes = 0u64;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|err| Failure::Error(classify_body(&err)))?;
            if let Some(data) = frame.data_ref() {
                bytes += data.len() as u64;
            }
        }
        Ok::<_, Failure>((Answer { status, bytes }, keep))
    });
    tokio::select! {
        biased;
        result = &mut work => return result,
        ended = driver.as_mut() => {
            if let Err(err) = ended {
                return Err(classify(&err));
            }
        }
    }
    // The server closed the connection cleanly; what it sent before may still complete the
    // answer (a `Connection: close` response), but the connection is done either way.
    work.await.map(|(answer, _)| (answer, false))
}

/// Sorts a hyper error into an error kind; a request that never left is `Stale`.
fn classify(err: &hyper::Error) -> Failure {
    if err.is_canceled() {
        return Failure::Stale;
    }
    Failure::Error(classify_body(err))
}

fn classify_body(err: &hyper::Error) -> ErrorKind {
    if err.is_timeout() {
        return ErrorKind::Timeout;
    }
    if err.is_incomplete_message() || err.is_closed() {
        return ErrorKind::Reset;
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as Io;
            return match io.kind() {
                Io::ConnectionReset
                | Io::ConnectionAborted
                | Io::BrokenPipe
                | Io::UnexpectedEof
                | Io::NotConnected => ErrorKind::Reset,
                Io::TimedOut => ErrorKind::Timeout,
                _ => ErrorKind::Other,
            };
        }
        source = cause.source();
    }
    ErrorKind::Other
}
