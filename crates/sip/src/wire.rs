//! SIP messages in and out, through `rsipstack`'s parser and message types.
//!
//! This module checks what a B2BUA needs from every message (the headers
//! that identify its transaction and dialog) and builds the responses and
//! requests the core sends. Parsing and serialising are `rsipstack`'s; only
//! the checks RFC 3261 §8.2 asks of a UAS and the bodies' length are ours.

use rsipstack::sip::headers::untyped::ToTypedHeader;
use rsipstack::sip::{self as rs, Header, Headers, HeadersExt, Method, SipMessage, StatusCode};

/// The largest message accepted (UDP datagrams are smaller still).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// A parsed message with the fields every layer of the core uses.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub msg: SipMessage,
    pub call_id: String,
    pub cseq: u32,
    pub cseq_method: Method,
    /// The top Via's branch (RFC 3261 magic cookie or not).
    pub branch: String,
    pub from_tag: Option<String>,
    pub to_tag: Option<String>,
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Not a SIP message at all, or too broken to answer: dropped.
    #[error("unparseable: {0}")]
    Unparseable(String),
    /// A request that can be answered: the core sends `400` with this reason.
    #[error("bad request: {0}")]
    BadRequest(String),
}

impl Parsed {
    pub fn request(&self) -> Option<&rs::Request> {
        match &self.msg {
            SipMessage::Request(r) => Some(r),
            SipMessage::Response(_) => None,
        }
    }

    pub fn response(&self) -> Option<&rs::Response> {
        match &self.msg {
            SipMessage::Response(r) => Some(r),
            SipMessage::Request(_) => None,
        }
    }

    pub fn body(&self) -> &[u8] {
        match &self.msg {
            SipMessage::Request(r) => &r.body,
            SipMessage::Response(r) => &r.body,
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.msg.header_value(name)
    }
}

/// Parses and checks one message. Requests missing what a response needs
/// (Via, From, To, Call-ID, CSeq) are unanswerable and dropped; a request
/// whose CSeq method differs from its request line, whose body is shorter
/// than its Content-Length, whose version is not SIP/2.0, whose Request-URI
/// carries headers or which repeats a single-valued header (RFC 4475
/// badvers, escruri, multi01) is answered 400.
pub fn parse(bytes: &[u8]) -> Result<Parsed, Malformed> {
    if bytes.len() > MAX_MESSAGE {
        return Err(Malformed::Unparseable(format!("message of {} bytes exceeds {MAX_MESSAGE}", bytes.len())));
    }
    let msg = SipMessage::try_from(bytes).map_err(|e| Malformed::Unparseable(e.to_string()))?;
    let unparseable = |what: &str| Malformed::Unparseable(what.to_string());
    let call_id = msg.call_id_header().map_err(|_| unparseable("no Call-ID"))?.value().trim().to_string();
    if call_id.is_empty() {
        return Err(unparseable("empty Call-ID"));
    }
    let cseq = msg.cseq_header().map_err(|_| unparseable("no CSeq"))?.typed().map_err(|_| unparseable("bad CSeq"))?;
    let via = msg.top_via_header().map_err(|_| unparseable("no Via"))?;
    let via = via.typed().map_err(|_| unparseable("bad Via"))?;
    let branch = via.branch().map(|b| b.to_string()).unwrap_or_default();
    let from = msg.from_header().map_err(|_| unparseable("no From"))?.typed().map_err(|_| unparseable("bad From"))?;
    let to = msg.to_header().map_err(|_| unparseable("no To"))?.typed().map_err(|_| unparseable("bad To"))?;
    let parsed = Parsed {
        call_id,
        cseq: cseq.seq,
        cseq_method: cseq.method,
        branch,
        from_tag: from.tag().map(|t| t.to_string()),
        to_tag: to.tag().map(|t| t.to_string()),
        msg,
    };
    if let SipMessage::Request(r) = &parsed.msg {
        if r.version != rs::Version::V2 {
            return Err(Malformed::BadRequest(format!("{} is not supported", r.version)));
        }
        if !r.uri.headers.is_empty() {
            return Err(Malformed::BadRequest("the Request-URI carries headers".into()));
        }
        // RFC 3261 §7.3.1: these appear once; which copy counts is anybody's guess.
        for name in ["Call-ID", "CSeq", "From", "To", "Max-Forwards", "Content-Length"] {
            if r.headers.iter().filter(|h| h.name().eq_ignore_ascii_case(name)).count() > 1 {
                return Err(Malformed::BadRequest(format!("more than one {name} header")));
            }
        }
        if r.method != parsed.cseq_method && r.method != Method::Ack && r.method != Method::Cancel {
            return Err(Malformed::BadRequest(format!("CSeq method {} differs from request method {}", parsed.cseq_method, r.method)));
        }
        if let Some(declared) = parsed.header("Content-Length") {
            let declared: usize = declared.parse().map_err(|_| Malformed::BadRequest("Content-Length is not a number".into()))?;
            if declared > r.body.len() {
                return Err(Malformed::BadRequest(format!("body has {} bytes, Content-Length says {declared}", r.body.len())));
            }
        }
        if parsed.branch.is_empty() {
            return Err(Malformed::BadRequest("top Via has no branch".into()));
        }
    }
    Ok(parsed)
}

/// Builds what the core needs to answer a request it could not parse fully
/// but whose transaction headers survive: nothing, if they do not.
pub fn bad_request(bytes: &[u8], reason: &str) -> Option<Vec<u8>> {
    let msg = SipMessage::try_from(bytes).ok()?;
    let SipMessage::Request(req) = msg else { return None };
    Some(response(&req, 400, None, &[("Warning", format!("399 dialtone \"{}\"", sanitize(reason)))], None))
}

fn sanitize(s: &str) -> String {
    s.chars().filter(|c| !c.is_control() && *c != '"').take(120).collect()
}

/// A response to `req`: its Via, From, Call-ID and CSeq copied, its To with
/// `to_tag` added when it has none.
pub fn response(req: &rs::Request, code: u16, to_tag: Option<&str>, extra: &[(&str, String)], body: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut headers = Headers::default();
    for h in req.headers.iter() {
        match h {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => headers.push(h.clone()),
            Header::To(to) => {
                let tagged = to.typed().ok().is_some_and(|t| t.tag().is_some());
                match (tagged, to_tag) {
                    (false, Some(tag)) => headers.push(rs::headers::make_header("To", format!("{};tag={tag}", to.value().trim()))),
                    _ => headers.push(h.clone()),
                }
            }
            _ => {}
        }
    }
    finish(&mut headers, extra, body);
    let resp = rs::Response {
        status_code: StatusCode::from(code),
        wire_reason: None,
        version: rs::Version::V2,
        headers,
        body: body.map(|(_, b)| b.to_vec()).unwrap_or_default(),
    };
    resp.to_bytes()
}

fn finish(headers: &mut Headers, extra: &[(&str, String)], body: Option<(&str, &[u8])>) {
    for (name, value) in extra {
        headers.push(rs::headers::make_header(name, value.clone()));
    }
    headers.push(rs::headers::make_header("Server", "Dialtone".to_string()));
    if let Some((ctype, _)) = body {
        headers.push(rs::headers::make_header("Content-Type", ctype.to_string()));
    }
    headers.push(rs::headers::make_header("Content-Length", body.map_or(0, |(_, b)| b.len()).to_string()));
}

/// A request the core originates (toward an agent's phone, or within a
/// dialog toward either side).
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub method: Method,
    pub uri: &'a str,
    /// `SIP/2.0/UDP host:port` without the branch.
    pub via: &'a str,
    pub branch: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub call_id: &'a str,
    pub cseq: u32,
    pub contact: Option<&'a str>,
    pub extra: &'a [(&'a str, String)],
    pub body: Option<(&'a str, &'a [u8])>,
}

/// Serialises a request; fails only when the Request-URI does not parse.
pub fn request(o: &Outgoing<'_>) -> Result<Vec<u8>, String> {
    let uri = rs::Uri::try_from(o.uri).map_err(|e| format!("bad Request-URI {}: {e}", o.uri))?;
    let mut headers = Headers::default();
    headers.push(rs::headers::make_header("Via", format!("{};branch={};rport", o.via, o.branch)));
    headers.push(rs::headers::make_header("Max-Forwards", "70".into()));
    headers.push(rs::headers::make_header("From", o.from.to_string()));
    headers.push(rs::headers::make_header("To", o.to.to_string()));
    headers.push(rs::headers::make_header("Call-ID", o.call_id.to_string()));
    headers.push(rs::headers::make_header("CSeq", format!("{} {}", o.cseq, o.method)));
    if let Some(c) = o.contact {
        headers.push(rs::headers::make_header("Contact", c.to_string()));
    }
    finish(&mut headers, o.extra, o.body);
    let req = rs::Request {
        method: o.method,
        uri,
        version: rs::Version::V2,
        headers,
        body: o.body.map(|(_, b)| b.to_vec()).unwrap_or_default(),
    };
    Ok(req.to_bytes())
}

/// The user part of a From/To/Contact header's URI ("+15551234567"), or
/// the whole URI when it has none.
pub fn user_of(header_value: &str) -> String {
    match rs::typed::To::parse(header_value) {
        Ok(t) => t.uri.user().map(percent_decode).unwrap_or_else(|| t.uri.to_string()),
        Err(_) => header_value.trim().to_string(),
    }
}

/// RFC 3261 §19.1.2: a user part escapes reserved characters (`ada%40example.com`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// The URI inside a Contact header, and its `expires` parameter.
pub fn contact(header_value: &str) -> Option<(rs::Uri, Option<u32>)> {
    let c = rs::typed::Contact::parse(header_value).ok()?;
    let expires = c.expires();
    Some((c.uri, expires))
}

/// The address of a URI whose host is an IP (port 5060 unless given), and
/// whether it asks for TCP (`;transport=tcp`).
pub fn uri_addr(uri: &str) -> Option<(std::net::SocketAddr, bool)> {
    let u = rs::Uri::try_from(uri.trim()).ok()?;
    let rs::Host::IpAddr(ip) = u.host_with_port.host else { return None };
    let port = u.host_with_port.port.as_ref().map_or(5060, |p| p.value());
    let tcp = u.params.iter().any(|p| p.to_string().eq_ignore_ascii_case(";transport=tcp"));
    Some((std::net::SocketAddr::new(ip, port), tcp))
}

/// Whether an SDP offer puts the other side on hold (RFC 3264 §8.4:
/// `sendonly` or `inactive`, or the RFC 2543 `c=0.0.0.0`).
pub fn sdp_is_hold(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body);
    text.lines().map(str::trim).any(|l| l == "a=sendonly" || l == "a=inactive" || l.starts_with("c=IN IP4 0.0.0.0"))
}

/// An SDP direction attribute (RFC 3264 §5.1): whether this side sends
/// and whether it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Direction {
    pub send: bool,
    pub recv: bool,
}

impl Direction {
    pub const SENDRECV: Direction = Direction {
        send: true,
        recv: true,
    };

    pub fn attribute(self) -> &'static str {
        match (self.send, self.recv) {
            (true, true) => "a=sendrecv",
            (true, false) => "a=sendonly",
            (false, true) => "a=recvonly",
            (false, false) => "a=inactive",
        }
    }
}

const DIRECTIONS: [&str; 4] = ["a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"];

/// The `o=` line's session version (RFC 4566 §5.2), if there is one.
pub fn sdp_version(body: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(body);
    let origin = text.lines().map(str::trim).find(|l| l.starts_with("o="))?;
    origin.split_whitespace().nth(2)?.parse().ok()
}

/// The same session description with every direction attribute replaced by
/// `direction` (one per media section, or one for the session when it has
/// none) and, when given, the `o=` version set to `version`, as a B2BUA that
/// holds or mutes a leg re-offers the other side's SDP (RFC 6337 §5). Line
/// endings are kept; nothing else changes.
pub fn sdp_with_direction(body: &[u8], direction: Direction, version: Option<u64>) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || DIRECTIONS.contains(&trimmed) {
            continue;
        }
        if trimmed.starts_with("m=") && lines.iter().any(|l| l.starts_with("m=")) {
            lines.push(direction.attribute().to_string());
        }
        match (trimmed.strip_prefix("o="), version) {
            (Some(origin), Some(v)) => {
                let mut fields: Vec<String> = origin.split_whitespace().map(String::from).collect();
                if fields.len() >= 3 {
                    fields[2] = v.to_string();
                }
                lines.push(format!("o={}", fields.join(" ")));
            }
            _ => lines.push(trimmed.to_string()),
        }
    }
    lines.push(direction.attribute().to_string());
    let mut out = lines.join(eol);
    out.push_str(eol);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1\r\n\
From: sipp <sip:+15551230001@127.0.0.1:5061>;tag=abc\r\n\
To: <sip:service@127.0.0.1:5060>\r\n\
Call-ID: 1-1@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:sipp@127.0.0.1:5061>\r\n\
Max-Forwards: 70\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\r\nv=0\n";

    #[test]
    fn parses_the_transaction_fields() {
        let p = parse(INVITE.as_bytes()).unwrap();
        assert_eq!(p.call_id, "1-1@127.0.0.1");
        assert_eq!((p.cseq, p.cseq_method), (1, Method::Invite));
        assert_eq!(p.branch, "z9hG4bK-1");
        assert_eq!(p.from_tag.as_deref(), Some("abc"));
        assert_eq!(p.to_tag, None);
        assert_eq!(p.body(), b"v=0\n");
        assert_eq!(user_of(&p.header("From").unwrap()), "+15551230001");
        assert_eq!(user_of("<sip:ada%40example.com@127.0.0.1>"), "ada@example.com");
    }

    #[test]
    fn a_response_copies_the_transaction_and_tags_the_to() {
        let p = parse(INVITE.as_bytes()).unwrap();
        let bytes = response(p.request().unwrap(), 180, Some("dt1"), &[], None);
        let r = parse(&bytes).unwrap();
        assert_eq!(r.response().unwrap().status_code, StatusCode::from(180));
        assert_eq!(r.to_tag.as_deref(), Some("dt1"));
        assert_eq!((r.branch.as_str(), r.call_id.as_str()), ("z9hG4bK-1", "1-1@127.0.0.1"));
    }

    #[test]
    fn a_short_body_is_a_bad_request_and_garbage_is_unparseable() {
        let short = INVITE.replace("Content-Length: 4", "Content-Length: 40");
        assert!(matches!(parse(short.as_bytes()), Err(Malformed::BadRequest(_))));
        assert!(matches!(parse(b"hello world\r\n\r\n"), Err(Malformed::Unparseable(_))));
        let mismatch = INVITE.replace("CSeq: 1 INVITE", "CSeq: 1 BYE");
        assert!(matches!(parse(mismatch.as_bytes()), Err(Malformed::BadRequest(_))));
    }

    #[test]
    fn a_uri_with_an_ip_has_an_address() {
        assert_eq!(uri_addr("sip:agent1@127.0.0.1:5070"), Some(("127.0.0.1:5070".parse().unwrap(), false)));
        assert_eq!(uri_addr("sip:agent1@127.0.0.1;transport=tcp"), Some(("127.0.0.1:5060".parse().unwrap(), true)));
        assert_eq!(uri_addr("sip:agent1@phones.example.com"), None);
        assert_eq!(uri_addr("not a uri"), None);
    }

    #[test]
    fn hold_is_sendonly_inactive_or_a_null_address() {
        assert!(sdp_is_hold(b"v=0\r\nc=IN IP4 10.0.0.1\r\na=sendonly\r\n"));
        assert!(sdp_is_hold(b"v=0\r\nc=IN IP4 0.0.0.0\r\n"));
        assert!(!sdp_is_hold(b"v=0\r\nc=IN IP4 10.0.0.1\r\na=sendrecv\r\n"));
    }
    #[test]
    fn a_re_offer_replaces_the_direction_of_each_media_section_and_bumps_the_version() {
        let sdp = b"v=0\r\no=agent 7 41 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\nm=video 5002 RTP/AVP 96\r\n";
        assert_eq!(sdp_version(sdp), Some(41));
        let held = sdp_with_direction(
            sdp,
            Direction {
                send: true,
                recv: false,
            },
            Some(42),
        );
        let text = String::from_utf8(held.clone()).unwrap();
        assert_eq!(
            text,
            "v=0\r\no=agent 7 42 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\nm=video 5002 RTP/AVP 96\r\na=sendonly\r\n"
        );
        assert!(sdp_is_hold(&held));
        let back = sdp_with_direction(&held, Direction::SENDRECV, None);
        assert_eq!(sdp_version(&back), Some(42));
        assert!(!sdp_is_hold(&back));
        assert_eq!(
            sdp_with_direction(
                b"v=0\no=- 1 1 IN IP4 0.0.0.0\n",
                Direction {
                    send: false,
                    recv: false
                },
                None
            ),
            b"v=0\no=- 1 1 IN IP4 0.0.0.0\na=inactive\n"
        );
        assert_eq!(sdp_version(b"v=0\r\n"), None);
    }
}
