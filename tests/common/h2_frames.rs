//! HTTP/2 frames by hand, for tests that must do what a well-behaved
//! client library will not: open more streams than the server allows (the
//! `h2` crate's client queues them until the server's limit permits), reset
//! streams the moment they are opened, send a header list over the limit.
//! Just enough of RFC 9113 and of HPACK (RFC 7541: static-table indices,
//! literals never Huffman-coded) to write requests and read frame types.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// SETTINGS_MAX_CONCURRENT_STREAMS.
pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
/// SETTINGS_MAX_HEADER_LIST_SIZE.
pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;

pub const CANCEL: u32 = 0x8;
pub const REFUSED_STREAM: u32 = 0x7;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// The largest frame payload a peer must accept without asking.
const MAX_FRAME: usize = 16_384;

/// One frame as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The error code of a RST_STREAM or GOAWAY.
    pub fn error_code(&self) -> Option<u32> {
        let at = match self.kind {
            RST_STREAM => 0,
            GOAWAY => 4,
            _ => return None,
        };
        let bytes = self.payload.get(at..at + 4)?;
        Some(u32::from_be_bytes(bytes.try_into().ok()?))
    }

    /// GOAWAY's last stream id.
    pub fn last_stream(&self) -> Option<u32> {
        (self.kind == GOAWAY)
            .then(|| u32::from_be_bytes(self.payload[..4].try_into().expect("4 bytes")) & 0x7fff_ffff)
    }

    /// The (id, value) pairs of a SETTINGS frame.
    pub fn settings(&self) -> Vec<(u16, u32)> {
        self.payload
            .chunks_exact(6)
            .map(|c| {
                (
                    u16::from_be_bytes([c[0], c[1]]),
                    u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                )
            })
            .collect()
    }
}

/// A frame's bytes.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("frame length");
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The connection preface and an empty SETTINGS frame.
pub fn client_preface() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    out
}

pub fn rst_stream(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

/// HPACK integer with an `n`-bit prefix, the rest of the first byte `high`.
fn hpack_int(out: &mut Vec<u8>, high: u8, n: u32, mut value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(high | value as u8);
        return;
    }
    out.push(high | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

fn hpack_string(out: &mut Vec<u8>, s: &[u8]) {
    hpack_int(out, 0, 7, s.len());
    out.extend_from_slice(s);
}

/// A request's header block: `:method` (GET or POST), `:scheme https`,
/// `:path`, `:authority`, then `extra` headers (lower-case names), all
/// literals without indexing so blocks do not depend on each other.
pub fn request_block(method: &str, path: &str, authority: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.push(match method {
        "GET" => 0x82,
        "POST" => 0x83,
        other => panic!("no static index for {other}"),
    });
    out.push(0x87); // :scheme https
    hpack_int(&mut out, 0, 4, 4); // :path, literal value
    hpack_string(&mut out, path.as_bytes());
    hpack_int(&mut out, 0, 4, 1); // :authority, literal value
    hpack_string(&mut out, authority.as_bytes());
    for (name, value) in extra {
        out.push(0); // new name, not indexed
        hpack_string(&mut out, name.as_bytes());
        hpack_string(&mut out, value);
    }
    out
}

/// HEADERS (and CONTINUATION frames when `block` is over a frame's size)
/// opening `stream`.
pub fn headers(stream: u32, block: &[u8], end_stream: bool) -> Vec<u8> {
    let chunks: Vec<&[u8]> = block.chunks(MAX_FRAME).collect();
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let mut flags = if last { END_HEADERS } else { 0 };
        let kind = if i == 0 {
            if end_stream {
                flags |= END_STREAM;
            }
            HEADERS
        } else {
            CONTINUATION
        };
        out.extend(frame(kind, flags, stream, chunk));
    }
    out
}

/// Reads one frame; `None` at the end of the connection (or an error).
pub async fn read_frame<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Frame> {
    let mut head = [0u8; 9];
    stream.read_exact(&mut head).await.ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await.ok()?;
    Some(Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    })
}

/// Sends the preface, reads the server's SETTINGS (returned) and
/// acknowledges them.
pub async fn open<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> Frame {
    stream
        .write_all(&client_preface())
        .await
        .expect("send the preface");
    stream.flush().await.expect("flush");
    loop {
        let frame = read_frame(stream).await.expect("the server's SETTINGS");
        if frame.kind == SETTINGS && frame.flags & ACK == 0 {
            stream
                .write_all(&self::frame(SETTINGS, ACK, 0, &[]))
                .await
                .expect("acknowledge SETTINGS");
            stream.flush().await.expect("flush");
            return frame;
        }
    }
}

/// The `:status` of a response header block as h2 servers encode it: an
/// indexed static entry (200, 204, 206, 304, 400, 404, 500) or a literal
/// of the static `:status` name, its value plain or Huffman-coded digits.
/// `None` for anything else.
pub fn status(block: &[u8]) -> Option<u16> {
    let first = *block.first()?;
    let indexed = [
        (0x88, 200),
        (0x89, 204),
        (0x8a, 206),
        (0x8b, 304),
        (0x8c, 400),
        (0x8d, 404),
        (0x8e, 500),
    ];
    if let Some((_, status)) = indexed.iter().find(|(byte, _)| *byte == first) {
        return Some(*status);
    }
    // Literal with incremental indexing (01 + index 8), without indexing
    // or never indexed (000x + index 8).
    if !matches!(first, 0x48 | 0x08 | 0x18) {
        return None;
    }
    let len_byte = *block.get(1)?;
    let len = usize::from(len_byte & 0x7f);
    let value = block.get(2..2 + len)?;
    let digits = if len_byte & 0x80 == 0 {
        value.to_vec()
    } else {
        huffman_digits(value)?
    };
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// Decodes a Huffman-coded string of digits (RFC 7541 Appendix B: `0`-`2`
/// are 5-bit codes 0-2, `3`-`9` 6-bit codes 0x19-0x1f), padding of 1s.
fn huffman_digits(bytes: &[u8]) -> Option<Vec<u8>> {
    let bits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    let mut out = Vec::new();
    let mut at = 0;
    let take = |at: usize, n: usize| -> Option<u8> {
        bits.get(at..at + n)
            .map(|b| b.iter().fold(0u8, |acc, bit| acc << 1 | bit))
    };
    while at < bits.len() {
        if bits[at..].iter().all(|b| *b == 1) && bits.len() - at < 8 {
            break;
        }
        match take(at, 5)? {
            code @ 0..=2 => {
                out.push(b'0' + code);
                at += 5;
            }
            _ => match take(at, 6)? {
                code @ 0x19..=0x1f => {
                    out.push(b'3' + (code - 0x19));
                    at += 6;
                }
                _ => return None,
            },
        }
    }
    Some(out)
}
