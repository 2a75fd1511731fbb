//! Every call of rampart's service clients passes through here (the credential providers'
//! own calls, such as AssumeRole for `--role-arn`, do not): bounded in flight overall
//! (`--parallelism`) and per service and region, slowed down while that service throttles, and
//! counted per service and operation for `--stats`.
//!
//! The bounds sit in the HTTP connector, around each attempt, so a retry's back-off sleep holds
//! no slot. The counting and the throttling signal come from an interceptor, which sees each
//! attempt's answer after the SDK has read its body.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::sync::Notify;

/// Error codes AWS services answer when they throttle (the SDK's own list, minus quota
/// errors such as `LimitExceeded`, which waiting does not cure).
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
];

/// A bound on calls in flight that halves when AWS throttles and grows back by one slot per
/// window of successful calls (additive increase, multiplicative decrease, as TCP does). A
/// burst of throttled answers to calls sent together halves it once: after a cut, the next
/// needs a window of answers to calls sent under the new bound.
#[derive(Debug)]
pub struct Gate {
    state: Mutex<GateState>,
    freed: Notify,
}

#[derive(Debug)]
struct GateState {
    limit: usize,
    max: usize,
    in_flight: usize,
    successes: usize,
    /// Answers since the last cut (`None`: never cut).
    since_cut: Option<usize>,
    lowest: usize,
}

impl Gate {
    pub fn new(max: usize) -> Gate {
        let max = max.max(1);
        Gate {
            state: Mutex::new(GateState {
                limit: max,
                max,
                in_flight: 0,
                successes: 0,
                since_cut: None,
                lowest: max,
            }),
            freed: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a slot; the slot is freed when the returned guard drops.
    pub async fn enter(self: &Arc<Self>) -> Slot {
        loop {
            let freed = self.freed.notified();
            {
                let mut st = self.state();
                if st.in_flight < st.limit {
                    st.in_flight += 1;
                    return Slot(self.clone());
                }
            }
            freed.await;
        }
    }

    /// AWS throttled a call: halve the bound.
    pub fn throttled(&self) {
        let mut st = self.state();
        let limit = st.limit;
        match &mut st.since_cut {
            Some(answers) if *answers < limit => *answers += 1,
            _ => {
                st.limit = (limit / 2).max(1);
                st.since_cut = Some(0);
                st.successes = 0;
                st.lowest = st.lowest.min(st.limit);
            }
        }
    }

    /// A call went through: after a window as large as the bound, one more slot.
    pub fn succeeded(&self) {
        let grew = {
            let mut st = self.state();
            if let Some(answers) = &mut st.since_cut {
                *answers += 1;
            }
            st.successes += 1;
            if st.successes >= st.limit && st.limit < st.max {
                st.limit += 1;
                st.successes = 0;
                true
            } else {
                false
            }
        };
        if grew {
            self.freed.notify_waiters();
        }
    }

    /// The current bound and the lowest it fell to.
    pub fn limits(&self) -> (usize, usize) {
        let st = self.state();
        (st.limit, st.lowest)
    }
}

/// A slot of a [`Gate`], held for one attempt.
pub struct Slot(Arc<Gate>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.state().in_flight -= 1;
        self.0.freed.notify_waiters();
    }
}

/// Calls of one operation.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Count {
    pub calls: u64,
    /// Attempts beyond the first.
    pub retries: u64,
    pub throttled: u64,
}

/// What one run asked of AWS, shared by every client.
#[derive(Debug)]
pub struct Traffic {
    global: Arc<Gate>,
    per_service: usize,
    gates: Mutex<BTreeMap<(String, String), Arc<Gate>>>,
    counts: Mutex<HashMap<(String, String), Count>>,
}

impl Traffic {
    /// At most `parallelism` calls in flight overall, and as many per service and region
    /// until one throttles.
    pub fn new(parallelism: usize) -> Arc<Traffic> {
        Arc::new(Traffic {
            global: Arc::new(Gate::new(parallelism)),
            per_service: parallelism.max(1),
            gates: Mutex::new(BTreeMap::new()),
            counts: Mutex::new(HashMap::new()),
        })
    }

    fn gate(&self, service: &str, region: &str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates
            .entry((service.to_string(), region.to_string()))
            .or_insert_with(|| Arc::new(Gate::new(self.per_service)))
            .clone()
    }

    /// The HTTP client and interceptor for one service's client in one region.
    pub fn wiring(
        self: &Arc<Self>,
        http: &SharedHttpClient,
        service: &str,
        region: &str,
    ) -> (Bounded, Counter) {
        let gate = self.gate(service, region);
        (
            Bounded {
                inner: http.clone(),
                global: self.global.clone(),
                service: gate.clone(),
            },
            Counter {
                traffic: self.clone(),
                gate,
            },
        )
    }

    fn count(&self, cfg: &ConfigBag, add: impl FnOnce(&mut Count)) {
        let Some(meta) = cfg.load::<Metadata>() else {
            return;
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        add(counts
            .entry((meta.service().to_string(), meta.name().to_string()))
            .or_default());
    }

    /// Calls so far, by service and operation.
    pub fn counts(&self) -> BTreeMap<(String, String), Count> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// Services and regions that throttled, with the lowest bound they were given.
    pub fn slowed(&self) -> Vec<(String, String, usize)> {
        let gates = self.gates.lock().unwrap_or_else(|p| p.into_inner());
        gates
            .iter()
            .filter_map(|((service, region), gate)| {
                let (_, lowest) = gate.limits();
                (lowest < self.per_service).then(|| (service.clone(), region.clone(), lowest))
            })
            .collect()
    }
}

/// The HTTP client with both bounds around each attempt.
#[derive(Debug, Clone)]
pub struct Bounded {
    inner: SharedHttpClient,
    global: Arc<Gate>,
    service: Arc<Gate>,
}

impl HttpClient for Bounded {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(BoundedConnector {
            inner: self.inner.http_connector(settings, components),
            global: self.global.clone(),
            service: self.service.clone(),
        })
    }
}

#[derive(Debug)]
struct BoundedConnector {
    inner: SharedHttpConnector,
    global: Arc<Gate>,
    service: Arc<Gate>,
}

impl HttpConnector for BoundedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, global, service) = (
            self.inner.clone(),
            self.global.clone(),
            self.service.clone(),
        );
        HttpConnectorFuture::new(async move {
            // The service's slot first, so a throttled service holds none of the global ones
            // while it waits.
            let _service = service.enter().await;
            let _global = global.enter().await;
            inner.call(request).await
        })
    }
}

/// Counts operations and attempts, and tells the service's gate how each attempt went.
#[derive(Debug)]
pub struct Counter {
    traffic: Arc<Traffic>,
    gate: Arc<Gate>,
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "rampart::traffic"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The operation's name is known from here on (not yet before execution).
        if cfg.load::<Retrying>().is_some() {
            self.traffic.count(cfg, |c| c.retries += 1);
        } else {
            cfg.interceptor_state().store_put(Retrying);
            self.traffic.count(cfg, |c| c.calls += 1);
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(response) = context.response() else {
            return Ok(());
        };
        let status = response.status().as_u16();
        let error_type = response.headers().get("x-amzn-errortype");
        if throttling(status, error_type, response.body().bytes()) {
            self.gate.throttled();
            self.traffic.count(cfg, |c| c.throttled += 1);
            tracing::debug!(status, "AWS throttled a call");
        } else if status < 500 {
            self.gate.succeeded();
        }
        Ok(())
    }
}

/// Marks an operation whose first attempt was made, in its config bag.
#[derive(Debug, Clone, Copy)]
struct Retrying;

impl aws_smithy_types::config_bag::Storable for Retrying {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

/// Whether an answer says "slow down": HTTP 429, or a throttling error code in the error-type
/// header or the body (JSON `__type`, XML `<Code>`).
fn throttling(status: u16, error_type: Option<&str>, body: Option<&[u8]>) -> bool {
    if status == 429 {
        return true;
    }
    if status < 400 {
        return false;
    }
    let is_code = |code: &str| {
        let code = code.split([':', '#']).next().unwrap_or(code).trim();
        THROTTLING_CODES.contains(&code)
    };
    if error_type.is_some_and(is_code) {
        return true;
    }
    let Some(text) = body.and_then(|b| std::str::from_utf8(b).ok()) else {
        return false;
    };
    THROTTLING_CODES.iter().any(|code| {
        text.contains(&format!("<Code>{code}</Code>"))
            || text.contains(&format!("\"{code}\""))
            || text.contains(&format!("#{code}\""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long enough for a free slot to be taken at once.
    const SHORT: std::time::Duration = std::time::Duration::from_millis(50);

    #[test]
    fn throttling_is_told_from_other_errors_in_every_protocol() {
        let json = br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
        let query = b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>";
        let s3 = b"<Error><Code>SlowDown</Code><Message>reduce</Message></Error>";
        let denied = b"<Error><Code>AccessDenied</Code></Error>";
        let quota = br#"{"__type":"LimitExceededException"}"#;
        assert!(throttling(400, None, Some(json)));
        assert!(throttling(400, None, Some(query)));
        assert!(throttling(503, None, Some(s3)));
        assert!(throttling(429, None, None));
        assert!(throttling(
            400,
            Some("TooManyRequestsException:http://internal.amazon.com/"),
            None
        ));
        assert!(!throttling(403, None, Some(denied)));
        assert!(!throttling(400, None, Some(quota)));
        assert!(!throttling(503, None, None));
        assert!(!throttling(200, None, Some(s3)));
    }

    #[tokio::test]
    async fn a_throttled_gate_halves_and_grows_back_one_slot_per_window() {
        let gate = Arc::new(Gate::new(8));
        gate.throttled();
        assert_eq!(gate.limits(), (4, 4));
        // The rest of a burst sent under the old bound does not cut again.
        for _ in 0..4 {
            gate.throttled();
        }
        assert_eq!(gate.limits(), (4, 4), "a burst halves once");
        for _ in 0..3 {
            gate.throttled();
            for _ in 0..8 {
                gate.throttled();
            }
        }
        assert_eq!(gate.limits(), (1, 1), "never below one");
        gate.succeeded();
        assert_eq!(gate.limits().0, 2);
        for _ in 0..2 {
            gate.succeeded();
        }
        assert_eq!(gate.limits(), (3, 1), "the lowest is remembered");
    }

    #[tokio::test]
    async fn a_gate_holds_calls_beyond_its_bound_until_a_slot_frees() {
        let gate = Arc::new(Gate::new(2));
        let a = gate.enter().await;
        let _b = gate.enter().await;
        let third = tokio::time::timeout(SHORT, gate.enter()).await;
        assert!(third.is_err(), "a third call went through a bound of two");
        drop(a);
        let third = tokio::time::timeout(SHORT, gate.enter()).await;
        assert!(third.is_ok(), "a freed slot was not handed on");
    }

    #[tokio::test]
    async fn throttling_narrows_a_gate_that_is_full() {
        let gate = Arc::new(Gate::new(2));
        let _a = gate.enter().await;
        gate.throttled();
        let second = tokio::time::timeout(SHORT, gate.enter()).await;
        assert!(
            second.is_err(),
            "a throttled gate of one let a second call in"
        );
    }
}
