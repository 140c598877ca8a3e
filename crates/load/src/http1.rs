//! Reading HTTP/1.1 responses from bytes: the head (with `httparse`) and the framing of the
//! body (RFC 9112 section 6: none, Content-Length, chunked, or until the connection closes).
//!
//! Pure functions over buffers, so the socket code stays small and every framing case can
//! be tested byte by byte.

use httparse::Status;

/// A response that does not follow HTTP/1.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Headers a response may carry; more is an error, as a sign of something broken.
const MAX_HEADERS: usize = 100;

/// The parsed head of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// Bytes of the head, blank line included.
    pub len: usize,
    pub status: u16,
    /// A 1xx answer other than 101: another head follows.
    pub interim: bool,
    pub body: BodyDecoder,
    /// The connection can carry another request after this response.
    pub keep_alive: bool,
}

/// Parses a response head at the start of `buf`; `None` when more bytes are needed.
/// `head_request` says the request was HEAD, whose answers have no body.
pub(crate) fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<Head>, Malformed> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(Status::Complete(len)) => len,
        Ok(Status::Partial) => return Ok(None),
        Err(_) => return Err(Malformed),
    };
    let status = response.code.ok_or(Malformed)?;
    let http11 = response.version == Some(1);
    let mut length: Option<u64> = None;
    let mut chunked = false;
    let mut other_coding = false;
    let mut close = false;
    let mut keep_alive_token = false;
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value).map_err(|_| Malformed)?;
            let value: u64 = value.trim().parse().map_err(|_| Malformed)?;
            if length.is_some_and(|seen| seen != value) {
                return Err(Malformed);
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Only the last coding decides the framing; chunked must be last to frame.
            let last = header
                .value
                .rsplit(|&b| b == b',')
                .next()
                .map(trim)
                .unwrap_or_default();
            chunked = last.eq_ignore_ascii_case(b"chunked");
            other_coding = !chunked;
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',').map(trim) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    let interim = (100..200).contains(&status) && status != 101;
    let body = if head_request || interim || status == 204 || status == 304 {
        BodyDecoder::Length(0)
    } else if chunked {
        BodyDecoder::Chunked(Chunk::Size)
    } else if other_coding {
        BodyDecoder::UntilClose
    } else if let Some(length) = length {
        BodyDecoder::Length(length)
    } else {
        BodyDecoder::UntilClose
    };
    let keep_alive =
        status != 101 && !close && (http11 || keep_alive_token) && body != BodyDecoder::UntilClose;
    Ok(Some(Head {
        len,
        status,
        interim,
        body,
        keep_alive,
    }))
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace());
    match (start, end) {
        (Some(s), Some(e)) => &bytes[s..=e],
        _ => &[],
    }
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// After the last chunk: trailer fields up to a blank line.
    Trailers,
}

/// The framing of a body being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyDecoder {
    /// This many bytes left.
    Length(u64),
    Chunked(Chunk),
    /// Everything until the server closes the connection.
    UntilClose,
}

/// What one [`BodyDecoder::feed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fed {
    /// Bytes of the buffer used (framing included); the caller drops them.
    pub consumed: usize,
    /// Bytes of body data among them.
    pub data: u64,
    /// The body is complete.
    pub done: bool,
}

impl BodyDecoder {
    /// Takes what it can from `buf`. A body read until close is never done here: the caller
    /// ends it when the connection closes.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Fed, Malformed> {
        let mut at = 0;
        let mut data = 0u64;
        let fed = |at, data, done| {
            Ok(Fed {
                consumed: at,
                data,
                done,
            })
        };
        loop {
            let rest = &buf[at..];
            match self {
                BodyDecoder::Length(left) => {
                    let take = (*left).min(rest.len() as u64);
                    *left -= take;
                    return fed(at + take as usize, take, *left == 0);
                }
                BodyDecoder::UntilClose => return fed(buf.len(), rest.len() as u64, false),
                BodyDecoder::Chunked(chunk) => match *chunk {
                    Chunk::Size => match httparse::parse_chunk_size(rest) {
                        Ok(Status::Complete((used, 0))) => {
                            at += used;
                            *chunk = Chunk::Trailers;
                        }
                        Ok(Status::Complete((used, size))) => {
                            at += used;
                            *chunk = Chunk::Data(size);
                        }
                        Ok(Status::Partial) => return fed(at, data, false),
                        Err(_) => return Err(Malformed),
                    },
                    Chunk::Data(left) => {
                        let take = left.min(rest.len() as u64);
                        at += take as usize;
                        data += take;
                        *chunk = if take == left {
                            Chunk::DataEnd
                        } else {
                            Chunk::Data(left - take)
                        };
                        if take < left {
                            return fed(at, data, false);
                        }
                    }
                    Chunk::DataEnd => {
                        if rest.len() < 2 {
                            return fed(at, data, false);
                        }
                        if &rest[..2] != b"\r\n" {
                            return Err(Malformed);
                        }
                        at += 2;
                        *chunk = Chunk::Size;
                    }
                    Chunk::Trailers => {
                        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
                        return match httparse::parse_headers(rest, &mut fields) {
                            Ok(Status::Complete((used, _))) => fed(at + used, data, true),
                            Ok(Status::Partial) => fed(at, data, false),
                            Err(_) => Err(Malformed),
                        };
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes(), false)
            .unwrap()
            .expect("complete head")
    }

    /// Feeds `body` in pieces split at `cut`, as reads would deliver it, and returns the
    /// body bytes counted and whether it completed, plus what was left unused.
    fn decode(mut decoder: BodyDecoder, body: &[u8], cut: usize) -> (u64, bool, usize) {
        let mut pending: Vec<u8> = Vec::new();
        let mut data = 0;
        for (i, piece) in [&body[..cut], &body[cut..]].into_iter().enumerate() {
            pending.extend_from_slice(piece);
            let fed = decoder.feed(&pending).unwrap();
            pending.drain(..fed.consumed);
            data += fed.data;
            if fed.done {
                let unread = if i == 0 { body.len() - cut } else { 0 };
                return (data, true, pending.len() + unread);
            }
        }
        (data, false, pending.len())
    }

    #[test]
    fn heads_give_status_framing_and_reuse() {
        let h = head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        assert_eq!(h.len, 38);
        assert_eq!(h.status, 200);
        assert_eq!(h.body, BodyDecoder::Length(5));
        assert!(h.keep_alive && !h.interim);

        let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(h.body, BodyDecoder::Chunked(Chunk::Size));

        let h =
            head("HTTP/1.1 200 OK\r\nConnection: Keep-Alive, close\r\nContent-Length: 0\r\n\r\n");
        assert!(!h.keep_alive);

        let h = head("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n");
        assert!(!h.keep_alive, "HTTP/1.0 closes unless it says keep-alive");
        let h = head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n");
        assert!(h.keep_alive);

        let h = head("HTTP/1.1 200 OK\r\n\r\n");
        assert_eq!(h.body, BodyDecoder::UntilClose);
        assert!(
            !h.keep_alive,
            "a body that ends with the connection ends its reuse"
        );

        let h = head("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
        assert_eq!(h.body, BodyDecoder::Length(0));
        let h = head("HTTP/1.1 100 Continue\r\n\r\n");
        assert!(h.interim);
        let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", true)
            .unwrap()
            .unwrap();
        assert_eq!(h.body, BodyDecoder::Length(0), "HEAD answers have no body");
    }

    #[test]
    fn partial_and_broken_heads() {
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", false),
            Ok(None)
        );
        assert_eq!(parse_head(b"", false), Ok(None));
        assert_eq!(
            parse_head(b"SSH-2.0-OpenSSH\r\n\r\n", false),
            Err(Malformed)
        );
        assert_eq!(
            parse_head(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                false
            ),
            Err(Malformed)
        );
        assert_eq!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false),
            Err(Malformed)
        );
    }

    #[test]
    fn content_length_bodies_complete_at_their_length_wherever_reads_split() {
        let body = b"hello, worldNEXT";
        for cut in 0..=body.len() {
            let (data, done, left) = decode(BodyDecoder::Length(12), body, cut);
            assert_eq!((data, done, left), (12, true, 4), "cut at {cut}");
        }
    }

    #[test]
    fn chunked_bodies_decode_wherever_reads_split() {
        let body = b"4\r\nRust\r\nA;name=value\r\n0123456789\r\n0\r\nExpires: never\r\n\r\nNEXT";
        for cut in 0..=body.len() {
            let (data, done, left) = decode(BodyDecoder::Chunked(Chunk::Size), body, cut);
            assert_eq!((data, done, left), (14, true, 4), "cut at {cut}");
        }
        let plain = b"3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(
            decode(BodyDecoder::Chunked(Chunk::Size), plain, 5),
            (3, true, 0)
        );
    }

    #[test]
    fn broken_chunks_are_malformed() {
        let mut d = BodyDecoder::Chunked(Chunk::Size);
        assert_eq!(d.feed(b"zz\r\n"), Err(Malformed));
        let mut d = BodyDecoder::Chunked(Chunk::Size);
        assert_eq!(d.feed(b"2\r\nabXX"), Err(Malformed));
    }

    #[test]
    fn bodies_until_close_take_everything_and_never_finish_alone() {
        let mut d = BodyDecoder::UntilClose;
        let fed = d.feed(b"anything").unwrap();
        assert_eq!((fed.consumed, fed.data, fed.done), (8, 8, false));
    }
}
