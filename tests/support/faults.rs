//! A fault-injecting loopback proxy in front of a real registry (or any HTTP/1.1 server on
//! loopback). Every request is read whole (Content-Length or chunked bodies), matched against
//! the rules in order, and either answered with the rule's fault or forwarded to the upstream on
//! a fresh connection (`Connection: close` both ways, so one request per connection) — with the
//! rule's damage applied to the answer. The `Host` header is forwarded unchanged, so the
//! registry writes upload `Location`s that point back at the proxy.
//!
//! This is not a fake registry: every answer that is not an injected fault is the real
//! registry's own.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do to a matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and an OCI error body, without asking the upstream.
    Status(u16),
    /// Forward, then send the answer's headers and only this many body bytes, and close.
    CutBody(usize),
    /// Forward, then announce this many more body bytes than there are, and close.
    LieLength(usize),
    /// Forward, then flip one byte in the middle of the body.
    Corrupt,
    /// Close the connection after reading the request, answering nothing.
    Drop,
    /// Wait this long before answering (past the client's timeout), then forward.
    Stall(Duration),
}

/// A rule: `method` (any when empty) and a path substring; fires `times` times.
#[derive(Debug, Clone)]
pub struct Rule {
    pub method: String,
    pub path: String,
    pub times: usize,
    pub fault: Fault,
    pub hits: usize,
    /// Only requests that carry a body (a monolithic blob upload, not the empty final `PUT`
    /// of a chunked one).
    pub with_body: bool,
}

#[derive(Clone)]
pub struct FaultProxy {
    pub host: String,
    rules: Arc<Mutex<Vec<Rule>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 (port 0) in front of `upstream` (`HOST:PORT`).
    pub fn start(upstream: &str) -> FaultProxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = l.local_addr().unwrap().to_string();
        let p = FaultProxy {
            host,
            rules: Arc::new(Mutex::new(Vec::new())),
            log: Arc::new(Mutex::new(Vec::new())),
        };
        let (rules, log, upstream) = (p.rules.clone(), p.log.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(c) = c else { continue };
                let (rules, log, upstream) = (rules.clone(), log.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = serve(c, &upstream, &rules, &log);
                });
            }
        });
        p
    }

    /// Add a rule: `method` ("" for any), a path substring, how many times, what fault.
    pub fn inject(&self, method: &str, path: &str, times: usize, fault: Fault) {
        self.rule(method, path, times, fault, false);
    }

    /// Like [`FaultProxy::inject`], for requests with a non-empty body only.
    #[allow(dead_code)]
    pub fn inject_on_bodies(&self, method: &str, path: &str, times: usize, fault: Fault) {
        self.rule(method, path, times, fault, true);
    }

    fn rule(&self, method: &str, path: &str, times: usize, fault: Fault, with_body: bool) {
        self.rules.lock().unwrap().push(Rule {
            method: method.to_string(),
            path: path.to_string(),
            times,
            fault,
            hits: 0,
            with_body,
        });
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    /// How often rules whose path contains `path` fired.
    pub fn fired(&self, path: &str) -> usize {
        self.rules
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.contains(path))
            .map(|r| r.hits)
            .sum()
    }

    /// `METHOD PATH` of every request seen, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

struct Request {
    method: String,
    path: String,
    /// Header lines as sent, without the final CRLF, minus Connection/Transfer-Encoding/
    /// Content-Length (re-written).
    headers: Vec<String>,
    body: Vec<u8>,
}

fn read_line(r: &mut impl BufRead) -> std::io::Result<String> {
    let mut s = String::new();
    if r.read_line(&mut s)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(s)
}

fn read_request(r: &mut impl BufRead) -> std::io::Result<Request> {
    let first = read_line(r)?;
    let mut parts = first.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("/").to_string();
    let mut headers = Vec::new();
    let mut len = 0usize;
    let mut chunked = false;
    loop {
        let line = read_line(r)?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        } else if lower.starts_with("transfer-encoding:") {
            chunked = lower.contains("chunked");
        } else if !lower.starts_with("connection:") {
            headers.push(line.to_string());
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let size = read_line(r)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(len, 0);
        r.read_exact(&mut body)?;
    }
    Ok(Request {
        method,
        path,
        headers,
        body,
    })
}

fn matching(rules: &Mutex<Vec<Rule>>, req: &Request) -> Option<Fault> {
    let mut rules = rules.lock().unwrap();
    let rule = rules.iter_mut().find(|r| {
        r.hits < r.times
            && (r.method.is_empty() || r.method == req.method)
            && req.path.contains(&r.path)
            && (!r.with_body || !req.body.is_empty())
    })?;
    rule.hits += 1;
    Some(rule.fault.clone())
}

fn serve(
    c: TcpStream,
    upstream: &str,
    rules: &Mutex<Vec<Rule>>,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(c.try_clone()?);
    let mut client = c;
    let req = read_request(&mut reader)?;
    log.lock()
        .unwrap()
        .push(format!("{} {}", req.method, req.path));
    let fault = matching(rules, &req);
    match &fault {
        Some(Fault::Status(code)) => {
            // The error code a registry sends with that status (distribution-spec).
            let oci_code = match code {
                401 => "UNAUTHORIZED",
                403 => "DENIED",
                404 if req.path.contains("/blobs/") => "BLOB_UNKNOWN",
                404 => "MANIFEST_UNKNOWN",
                429 => "TOOMANYREQUESTS",
                _ => "UNKNOWN",
            };
            let body = format!(
                "{{\"errors\":[{{\"code\":\"{oci_code}\",\"message\":\"injected {code}\"}}]}}"
            );
            let head = format!(
                "HTTP/1.1 {code} Injected\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            client.write_all(head.as_bytes())?;
            client.write_all(body.as_bytes())?;
            return Ok(());
        }
        Some(Fault::Drop) => return Ok(()),
        Some(Fault::Stall(d)) => std::thread::sleep(*d),
        _ => {}
    }
    // Forward on a fresh upstream connection, asking it to close after the answer.
    let mut up = TcpStream::connect(upstream)?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.path);
    for h in &req.headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    if req.body.is_empty() && (req.method == "GET" || req.method == "HEAD") {
        head = head.replace("Content-Length: 0\r\n", "");
    }
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |i| i + 4);
    let (head, body) = answer.split_at(split);
    let mut head = String::from_utf8_lossy(head).to_string();
    let mut body = body.to_vec();
    match fault {
        Some(Fault::CutBody(n)) => body.truncate(n.min(body.len())),
        Some(Fault::LieLength(extra)) => {
            let lower = head.to_ascii_lowercase();
            if let Some(i) = lower.find("content-length:") {
                let end = i + head[i..].find("\r\n").unwrap_or(head.len() - i);
                head.replace_range(i..end, &format!("Content-Length: {}", body.len() + extra));
            }
        }
        Some(Fault::Corrupt) if !body.is_empty() => {
            let mid = body.len() / 2;
            body[mid] ^= 0xff;
        }
        _ => {}
    }
    client.write_all(head.as_bytes())?;
    client.write_all(&body)?;
    client.flush()?;
    let _ = client.shutdown(std::net::Shutdown::Both);
    Ok(())
}
