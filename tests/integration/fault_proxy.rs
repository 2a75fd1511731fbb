//! A fault-injection proxy for the tests: a small loopback HTTP proxy in front of the
//! emulator that delays requests, answers 500, 503 or a throttling error in the protocol of the
//! service asked, or resets the connection, for a chosen fraction of requests, at a chosen
//! request number, or for every request that holds chosen text.
//!
//! Each client connection carries one request (`Connection: close` both ways), so a fault
//! never hits a request it was not meant for. A faulted request never reaches the emulator:
//! what the client sees is exactly what AWS would make it see.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a faulted request gets.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Forwarded, after this long.
    Delay(Duration),
    /// HTTP 500 `InternalFailure`.
    InternalError,
    /// HTTP 503 `ServiceUnavailable`.
    Unavailable,
    /// The service's own throttling error (`ThrottlingException`, `Throttling`, `SlowDown`).
    Throttle,
    /// The connection is reset (TCP RST) without an answer.
    Reset,
    /// Forwarded, and the connection reset instead of the answer: the call happened, and the
    /// client cannot know it.
    LoseAnswer,
}

/// Which requests a fault hits.
#[derive(Debug)]
pub struct Rule {
    fraction: f64,
    seen: AtomicUsize,
    nth: Option<usize>,
    needles: Vec<String>,
    transient: bool,
    /// At most this many faults from the rule.
    limit: Option<usize>,
    hits: AtomicUsize,
}

impl Rule {
    /// About `fraction` of requests, chosen by a fixed pseudo-random sequence. The fault is
    /// transient: no operation is failed more than twice, as a real blip clears within the
    /// SDK's retry budget (a permanent fault is `matching`).
    pub fn fraction(fraction: f64) -> Rule {
        Rule {
            fraction,
            seen: AtomicUsize::new(0),
            nth: None,
            needles: Vec::new(),
            transient: true,
            limit: None,
            hits: AtomicUsize::new(0),
        }
    }

    /// Every request (for delays).
    pub fn every() -> Rule {
        Rule {
            transient: false,
            ..Rule::fraction(1.0)
        }
    }

    /// The `n`th request the proxy receives (from 1).
    pub fn nth(n: usize) -> Rule {
        Rule {
            nth: Some(n),
            transient: false,
            ..Rule::fraction(1.0)
        }
    }

    /// Every request whose head or body holds all of `needles` (in any case), every time: a
    /// permanent fault.
    pub fn matching(needles: &[&str]) -> Rule {
        Rule {
            needles: needles.iter().map(|n| n.to_string()).collect(),
            transient: false,
            ..Rule::fraction(1.0)
        }
    }

    /// No more than `n` faults from this rule.
    pub fn times(mut self, n: usize) -> Rule {
        self.limit = Some(n);
        self
    }

    /// Only requests that also hold all of `needles` (e.g. `X-Amz-Target: TrentService.`).
    pub fn only(mut self, needles: &[&str]) -> Rule {
        self.needles = needles.iter().map(|n| n.to_string()).collect();
        self
    }
}

#[derive(Default)]
struct Shared {
    upstream: String,
    rules: Mutex<Vec<(Rule, Fault)>>,
    requests: AtomicUsize,
    injected: AtomicUsize,
    in_flight: AtomicUsize,
    /// Failures injected per operation (the SDK's invocation id), for transient rules.
    failed: Mutex<HashMap<String, u32>>,
}

pub struct FaultProxy {
    pub endpoint: String,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Starts a proxy for `upstream` (`http://127.0.0.1:PORT`) on a free loopback port.
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared {
            upstream: upstream
                .strip_prefix("http://")
                .expect("the proxy fronts a plain-http loopback emulator")
                .trim_end_matches('/')
                .to_string(),
            ..Shared::default()
        });
        let accept = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let shared = accept.clone();
                shared.in_flight.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    // A client that went away mid-request is no failure of the proxy's.
                    let _ = serve(&shared, conn);
                    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            shared,
        }
    }

    pub fn inject(&self, rule: Rule, fault: Fault) {
        lock(&self.shared.rules).push((rule, fault));
    }

    /// No more faults from here on.
    pub fn clear(&self) {
        lock(&self.shared.rules).clear();
    }

    /// Requests faulted so far (delays not counted).
    pub fn injected(&self) -> usize {
        self.shared.injected.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Waits until no request is being served: delayed requests whose client is gone still
    /// reach the emulator, as calls already sent to AWS do.
    pub fn wait_idle(&self) {
        crate::support::wait_for("the fault proxy to finish its requests", || {
            self.shared.in_flight.load(Ordering::SeqCst) == 0
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One HTTP message: its head (start line and headers, without the blank line) and body.
struct Message {
    head: Vec<String>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The message with `Connection: close` instead of whatever it said.
    fn closing(&self) -> Vec<u8> {
        let mut out = String::new();
        for line in &self.head {
            let name = line.split(':').next().unwrap_or("").trim();
            if !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive")
            {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }

    fn text(&self) -> String {
        format!(
            "{}\n{}",
            self.head.join("\n"),
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// Reads one message; `bodiless` for answers to HEAD, which announce a length they do not send.
fn read_message(reader: &mut impl BufRead, bodiless: bool) -> std::io::Result<Message> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let mut message = Message {
        head,
        body: Vec::new(),
    };
    let status = message
        .head
        .first()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok());
    if bodiless || matches!(status, Some(204 | 304)) {
        return Ok(message);
    }
    let chunked = message
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        // Kept chunked, as sent: only its end needs finding.
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            message.body.extend_from_slice(size.as_bytes());
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| std::io::Error::other("bad chunk size"))?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            message.body.extend_from_slice(&chunk);
            if n == 0 {
                break;
            }
        }
    } else if let Some(length) = message.header("content-length") {
        let n: usize = length
            .parse()
            .map_err(|_| std::io::Error::other("bad content-length"))?;
        message.body = vec![0; n];
        reader.read_exact(&mut message.body)?;
    } else if status.is_some() {
        reader.read_to_end(&mut message.body)?;
    }
    Ok(message)
}

fn serve(shared: &Shared, mut client: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let request = read_message(&mut reader, false)?;
    let n = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    match choose(shared, n, &request) {
        Some(Fault::Delay(d)) => std::thread::sleep(d),
        Some(Fault::Reset) => {
            socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO))?;
            return Ok(());
        }
        Some(Fault::LoseAnswer) => {
            forward(shared, &request)?;
            socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO))?;
            return Ok(());
        }
        Some(fault) => return client.write_all(&error_answer(fault, &request)),
        None => {}
    }
    client.write_all(&forward(shared, &request)?.closing())
}

/// The emulator's answer to `request`.
fn forward(shared: &Shared, request: &Message) -> std::io::Result<Message> {
    let mut upstream = TcpStream::connect(&shared.upstream)?;
    upstream.write_all(&request.closing())?;
    let head_request = request.head[0].starts_with("HEAD ");
    read_message(&mut BufReader::new(upstream), head_request)
}

/// The fault for request `n`, if a rule picks it.
fn choose(shared: &Shared, n: usize, request: &Message) -> Option<Fault> {
    let rules = lock(&shared.rules);
    // Header names arrive lower-cased: needles match without regard to case.
    let text = request.text().to_lowercase();
    let operation = request
        .header("amz-sdk-invocation-id")
        .unwrap_or("")
        .to_string();
    for (i, (rule, fault)) in rules.iter().enumerate() {
        if !rule
            .needles
            .iter()
            .all(|needle| text.contains(&needle.to_lowercase()))
        {
            continue;
        }
        // The rule's own count of the requests it applies to, and a sequence of its own: how
        // many it picks does not depend on what else the run asks, or on the other rules.
        let seen = rule.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let picked = match rule.nth {
            Some(k) => k == n,
            None => rule.fraction >= 1.0 || pseudo_random(seen, i) < rule.fraction,
        };
        if !picked {
            continue;
        }
        if matches!(fault, Fault::Delay(_)) {
            return Some(*fault);
        }
        let mut failed = lock(&shared.failed);
        let times = failed.entry(operation.clone()).or_default();
        if rule.transient && *times >= 2 {
            continue;
        }
        if rule
            .limit
            .is_some_and(|limit| rule.hits.load(Ordering::SeqCst) >= limit)
        {
            continue;
        }
        rule.hits.fetch_add(1, Ordering::SeqCst);
        *times += 1;
        shared.injected.fetch_add(1, Ordering::SeqCst);
        return Some(*fault);
    }
    None
}

/// A fixed sequence in [0, 1) (SplitMix64), so a run's faults are the same every time for the
/// same order of requests.
fn pseudo_random(n: usize, sequence: usize) -> f64 {
    let mut z = ((sequence as u64) << 32 | n as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The service a request is for, from the SDK's user agent (`api/kms#1.2.3`).
fn service(request: &Message) -> String {
    let agent = request
        .header("x-amz-user-agent")
        .or_else(|| request.header("user-agent"))
        .unwrap_or("");
    agent
        .split(' ')
        .find_map(|part| part.strip_prefix("api/"))
        .map(|api| api.split(['#', '/']).next().unwrap_or("").to_lowercase())
        .unwrap_or_default()
}

/// An error answer as the service would give it, in its protocol.
fn error_answer(fault: Fault, request: &Message) -> Vec<u8> {
    let service = service(request);
    let json = matches!(
        service.as_str(),
        "kms" | "secretsmanager" | "cloudtrail" | "lambda" | "guardduty"
    );
    let query = matches!(service.as_str(), "iam" | "rds" | "sts");
    let (status, reason, code) = match (fault, json, query) {
        (Fault::Throttle, true, _) => (400, "Bad Request", "ThrottlingException"),
        (Fault::Throttle, _, true) => (400, "Bad Request", "Throttling"),
        (Fault::Throttle, _, _) => (503, "Slow Down", "SlowDown"),
        (Fault::Unavailable, ..) => (503, "Service Unavailable", "ServiceUnavailable"),
        _ => (500, "Internal Server Error", "InternalFailure"),
    };
    let message = "injected by the test's fault proxy";
    let (content_type, body) = if json {
        (
            "application/x-amz-json-1.1",
            format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
        )
    } else if query {
        (
            "text/xml",
            format!(
                "<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
            ),
        )
    } else {
        (
            "application/xml",
            format!(
                "<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>"
            ),
        )
    };
    let body = if request.head[0].starts_with("HEAD ") {
        String::new()
    } else {
        body
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nx-amzn-ErrorType: {code}\r\nx-amzn-RequestId: fault\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}
