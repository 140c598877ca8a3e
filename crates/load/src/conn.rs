//! One keep-alive HTTP/1.1 connection per task, reopened when the server closes it.
//!
//! Requests are written from bytes built once per request kind, and answers are read into
//! one reused buffer and parsed in place (`http1`), so a request costs one write, usually
//! one read, and no allocation. A general HTTP client (hyper's) moves each request and
//! answer through channels between the caller and the connection; measured against wrk on
//! one core, that overhead alone made the generator slower than wrk.

use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::http1::{self, BodyDecoder};
use crate::record::{Answer, ErrorKind};
use crate::target::RequestKind;

/// Room kept free in the read buffer before each read.
const READ_CHUNK: usize = 16 * 1024;

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    /// An exchange has completed on this connection before.
    reused: bool,
    /// When the connection last finished an exchange (or was opened).
    last_used: std::time::Instant,
}

/// How long a connection must have been idle for a close before any answer to be read as
/// the server dropping an idle connection (and the request sent again). A close sooner
/// than that came after the server read the request, as a reset fault does: it is counted
/// as a reset, never sent again, so the load tester's counts match the server's log.
const STALE_AFTER_IDLE: Duration = Duration::from_millis(250);

/// How an exchange on an open connection ended.
enum Failure {
    /// A reused connection, idle for [`STALE_AFTER_IDLE`] or more, turned out closed before
    /// any byte of the answer: the server dropped it while idle. The request is sent
    /// again on a new one, not counted.
    Stale,
    Error(ErrorKind),
}

/// A task's client: at most one connection, and a timer reused for every request.
pub(crate) struct Client {
    addr: SocketAddr,
    timeout: Duration,
    conn: Option<Conn>,
    timer: Pin<Box<Sleep>>,
    /// When `timer` fires. Re-arming a timer takes a lock in the runtime's timer wheel, so
    /// it is only re-armed when it has fired or would fire too late; a timer that fires
    /// before a request's own deadline is simply set again.
    armed: Instant,
}

impl Client {
    pub fn new(addr: SocketAddr, timeout: Duration) -> Client {
        let now = Instant::now();
        Client {
            addr,
            timeout,
            conn: None,
            timer: Box::pin(tokio::time::sleep_until(now)),
            armed: now,
        }
    }

    /// Sends one request of `kind` and reads the whole answer, within the timeout counted
    /// from `now`.
    pub async fn send(
        &mut self,
        kind: &RequestKind,
        now: std::time::Instant,
    ) -> Result<Answer, ErrorKind> {
        let Client {
            addr,
            timeout,
            conn,
            timer,
            armed,
        } = self;
        let due = Instant::from_std(now) + *timeout;
        if *armed <= Instant::from_std(now) {
            timer.as_mut().reset(due);
            *armed = due;
        }
        let result = {
            let mut attempt = pin!(async {
                // One resend at most: a connection found closed is replaced once.
                for _ in 0..2 {
                    if conn.is_none() {
                        *conn = Some(connect(*addr).await?);
                    }
                    let open = conn.as_mut().expect("connected above");
                    match exchange(open, kind).await {
                        Ok((answer, keep)) => {
                            if keep {
                                open.last_used = std::time::Instant::now();
                            } else {
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
            });
            loop {
                tokio::select! {
                    biased;
                    result = &mut attempt => break result,
                    () = timer.as_mut() => {
                        if Instant::now() >= due {
                            break Err(ErrorKind::Timeout);
                        }
                        timer.as_mut().reset(due);
                        *armed = due;
                    }
                }
            }
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
    Ok(Conn {
        stream,
        buf: BytesMut::with_capacity(READ_CHUNK),
        reused: false,
        last_used: std::time::Instant::now(),
    })
}

fn io_kind(err: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match err.kind() {
        Io::ConnectionReset
        | Io::ConnectionAborted
        | Io::BrokenPipe
        | Io::UnexpectedEof
        | Io::NotConnected => ErrorKind::Reset,
        Io::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    }
}

/// Reads more of the answer; `Ok(0)` at the end of the stream.
async fn fill(conn: &mut Conn) -> std::io::Result<usize> {
    if conn.buf.capacity() - conn.buf.len() < READ_CHUNK / 4 {
        conn.buf.reserve(READ_CHUNK);
    }
    conn.stream.read_buf(&mut conn.buf).await
}

/// One request and its whole answer. Returns whether the connection can be used again.
async fn exchange(conn: &mut Conn, kind: &RequestKind) -> Result<(Answer, bool), Failure> {
    let reused =
        std::mem::replace(&mut conn.reused, true) && conn.last_used.elapsed() >= STALE_AFTER_IDLE;
    // Nothing of the answer yet on a reused connection: a close or reset now means the
    // server had dropped the idle connection.
    let lost = |err: Option<&std::io::Error>, got_any: bool| {
        let kind = err.map_or(ErrorKind::Reset, io_kind);
        if reused && !got_any && kind == ErrorKind::Reset {
            Failure::Stale
        } else {
            Failure::Error(kind)
        }
    };
    conn.buf.clear();
    if let Err(err) = conn.stream.write_all(kind.wire()).await {
        return Err(lost(Some(&err), false));
    }
    let mut got_any = false;
    let head = loop {
        if !conn.buf.is_empty() {
            match http1::parse_head(&conn.buf, kind.is_head()) {
                Ok(Some(head)) if head.interim => conn.buf.advance(head.len),
                Ok(Some(head)) => {
                    conn.buf.advance(head.len);
                    break head;
                }
                Ok(None) => match fill(conn).await {
                    Ok(0) => return Err(Failure::Error(ErrorKind::Reset)),
                    Ok(_) => {}
                    Err(err) => return Err(Failure::Error(io_kind(&err))),
                },
                Err(http1::Malformed) => return Err(Failure::Error(ErrorKind::Other)),
            }
            continue;
        }
        match fill(conn).await {
            Ok(0) => return Err(lost(None, got_any)),
            Ok(_) => got_any = true,
            Err(err) => return Err(lost(Some(&err), got_any)),
        }
    };
    let mut body = head.body;
    let mut bytes = 0u64;
    loop {
        let fed = body
            .feed(&conn.buf)
            .map_err(|_| Failure::Error(ErrorKind::Other))?;
        conn.buf.advance(fed.consumed);
        bytes += fed.data;
        if fed.done {
            break;
        }
        match fill(conn).await {
            Ok(0) if body == BodyDecoder::UntilClose => break,
            Ok(0) => return Err(Failure::Error(ErrorKind::Reset)),
            Ok(_) => {}
            Err(err) => return Err(Failure::Error(io_kind(&err))),
        }
    }
    let answer = Answer {
        status: head.status,
        bytes,
    };
    Ok((answer, head.keep_alive))
}
