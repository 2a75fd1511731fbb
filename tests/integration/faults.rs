//! Flaky networks and throttling, through the fault proxy: transient faults are retried and
//! the apply converges; a fault that outlasts the retry budget fails its resource only, and the
//! next run finishes the job; a throttling service is given fewer calls at once; a second
//! Ctrl-C exits at once and the journal still makes the next run right.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::crash::{inventory, recorded};
use crate::fault_proxy::{Fault, FaultProxy, Rule};
use crate::stats::stats;
use crate::support::{Project, private_emulator, wait_for};

/// Every resource of the example, as addresses in the state.
fn addresses(p: &Project) -> Vec<String> {
    let mut all: Vec<String> = p.state()["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap().to_string())
        .collect();
    all.sort();
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn with_fifteen_percent_of_requests_failing_transiently_one_apply_converges() {
    let e = private_emulator();
    let proxy = FaultProxy::start(&e.endpoint);
    let p = Project::example_offline("faults-15").at(&proxy.endpoint);
    // A mix of every transient fault AWS has: 5xx, throttling, connections reset.
    proxy.inject(Rule::fraction(0.04), Fault::InternalError);
    proxy.inject(Rule::fraction(0.04 / 0.96), Fault::Unavailable);
    proxy.inject(Rule::fraction(0.04 / 0.92), Fault::Throttle);
    proxy.inject(Rule::fraction(0.03 / 0.88), Fault::Reset);
    let run = p
        .rampart("apply", &["--auto-approve", "--stats=json"])
        .expect(0);
    let requests = proxy.requests();
    let injected = proxy.injected();
    assert!(
        injected * 100 >= requests * 10 && injected * 100 <= requests * 20,
        "{injected} of {requests} requests faulted, not about 15%"
    );
    let stats = stats(&run);
    // CreateKey has no idempotency token: rampart retries it itself, looking for the key a
    // failed attempt may have made first, so its retries count as calls of their own.
    let create_key_retries = stats["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["operation"] == "CreateKey")
        .map_or(0, |c| c["calls"].as_u64().unwrap() - 4);
    let retries = stats["total"]["retries"].as_u64().unwrap() + create_key_retries;
    assert!(
        retries >= injected as u64,
        "every fault is retried: {retries} retries of {injected} faults"
    );
    proxy.clear();
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    assert_eq!(addresses(&p).len(), 21, "the example has 21 resources");
    assert_eq!(inventory(&e, &p.prefix).await, recorded(&p.state()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_failure_fails_one_resource_the_others_are_recorded_and_the_next_run_finishes()
{
    let e = private_emulator();
    let proxy = FaultProxy::start(&e.endpoint);
    let p = Project::example_offline("faults-permanent").at(&proxy.endpoint);
    let role = format!("RoleName={}-data-analyst", p.prefix);
    proxy.inject(
        Rule::matching(&["Action=CreateRole", &role]),
        Fault::Unavailable,
    );
    let run = p.rampart("apply", &["--auto-approve"]).expect(1);
    let err = run.stderr();
    assert!(
        err.contains("iam_role.analyst") && err.contains("ServiceUnavailable"),
        "the failure names the resource and AWS's error:\n{err}"
    );
    assert!(
        err.contains("20 created"),
        "everything else was made:\n{err}"
    );
    let made = addresses(&p);
    assert_eq!(made.len(), 20, "{made:?}");
    assert!(!made.contains(&"iam_role.analyst".to_string()));
    assert!(
        p.state()["pending"]
            .as_array()
            .is_none_or(|pending| pending.is_empty()),
        "a refused create leaves no journal entry"
    );
    assert_eq!(inventory(&e, &p.prefix).await, recorded(&p.state()));

    proxy.clear();
    let plan = p.rampart("plan", &["--detailed-exitcode"]).expect(2);
    assert!(
        plan.stdout()
            .contains("Plan: 1 to create, 0 to update, 0 to replace, 0 to delete."),
        "{}",
        plan.stdout()
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    assert_eq!(inventory(&e, &p.prefix).await, recorded(&p.state()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_whose_answer_is_lost_is_found_not_made_twice() {
    let e = private_emulator();
    let proxy = FaultProxy::start(&e.endpoint);
    let p = Project::example_offline("faults-lost").at(&proxy.endpoint);
    // KMS makes the key, and the answer never arrives; CreateKey has no idempotency token.
    proxy.inject(
        Rule::matching(&["TrentService.CreateKey"]).times(2),
        Fault::LoseAnswer,
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    assert_eq!(proxy.injected(), 2);
    proxy.clear();
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    // Four keys, each once: no second key for a lost answer.
    let held = inventory(&e, &p.prefix).await;
    assert_eq!(held["kms_key"].len(), 4);
    assert_eq!(held, recorded(&p.state()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_that_cannot_be_looked_for_stays_journalled_and_the_next_run_adopts_it() {
    let e = private_emulator();
    let proxy = FaultProxy::start(&e.endpoint);
    let p = Project::example_offline("faults-lost-journal").at(&proxy.endpoint);
    // One key is made unseen, and KMS cannot list keys until the run is over.
    proxy.inject(
        Rule::matching(&["TrentService.CreateKey"]).times(1),
        Fault::LoseAnswer,
    );
    proxy.inject(
        Rule::matching(&["TrentService.ListKeys"]),
        Fault::Unavailable,
    );
    p.rampart("apply", &["--auto-approve"]).expect(1);
    let pending = p.state()["pending"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        pending.len(),
        1,
        "the unseen create stays journalled: {pending:?}"
    );
    assert_eq!(pending[0]["kind"], "kms_key");
    proxy.clear();
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    let held = inventory(&e, &p.prefix).await;
    assert_eq!(
        held["kms_key"].len(),
        4,
        "the key made unseen was adopted, not made again"
    );
    assert_eq!(held, recorded(&p.state()));
}

#[test]
fn a_connection_reset_at_a_chosen_request_is_retried_unseen() {
    let e = private_emulator();
    let proxy = FaultProxy::start(&e.endpoint);
    let p = Project::example_offline("faults-nth").at(&proxy.endpoint);
    proxy.inject(Rule::nth(3), Fault::Reset);
    let run = p
        .rampart("plan", &["--detailed-exitcode", "--stats=json"])
        .expect(2);
    assert_eq!(proxy.injected(), 1);
    assert_eq!(stats(&run)["total"]["retries"], 1, "{}", run.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttling_service_is_given_fewer_calls_at_once_and_the_apply_still_converges() {
    let e = private_emulator();
    let proxy = FaultProxy::start(&e.endpoint);
    let p = Project::example_offline("faults-throttle").at(&proxy.endpoint);
    // KMS throttles a quarter of its calls; the others are left alone.
    proxy.inject(
        Rule::fraction(0.25).only(&["X-Amz-Target: TrentService."]),
        Fault::Throttle,
    );
    let run = p
        .rampart("apply", &["--auto-approve", "--stats=json"])
        .expect(0);
    let stats = stats(&run);
    assert!(proxy.injected() > 0);
    assert_eq!(
        stats["total"]["throttled"].as_u64(),
        Some(proxy.injected() as u64),
        "every throttled answer is seen as throttling: {stats}"
    );
    let slowed = stats["slowed"].as_array().unwrap();
    assert_eq!(slowed.len(), 1, "only KMS throttled: {stats}");
    assert_eq!(slowed[0]["service"], "KMS");
    proxy.clear();
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_exits_at_once_and_the_next_run_still_converges() {
    let e = private_emulator();
    let proxy = FaultProxy::start(&e.endpoint);
    let p = Project::example_offline("faults-sigint").at(&proxy.endpoint);
    // Slow calls: stopping gracefully would wait seconds for those in flight.
    let delay = Duration::from_secs(4);
    proxy.inject(Rule::every(), Fault::Delay(delay));
    let bp = p.blueprint();
    let mut run = p
        .command(&["apply", bp.to_str().unwrap(), "--auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let state = p.state_path();
    wait_for("the first create journalled", || state.exists());
    let interrupt = || {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &run.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    interrupt();
    std::thread::sleep(Duration::from_millis(300));
    interrupt();
    let second = Instant::now();
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        assert!(
            second.elapsed() < delay,
            "the second Ctrl-C did not exit at once"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    assert!(!p.lock_path().exists(), "the lock was left behind");
    // Calls it had sent still land, as they would at AWS; then the journal finds them.
    proxy.clear();
    proxy.wait_idle();
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    assert_eq!(inventory(&e, &p.prefix).await, recorded(&p.state()));
}
