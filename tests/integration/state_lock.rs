//! The state file: private, valid JSON, a growing serial; the lock: one run at a time.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use crate::engine::SMALL;
use crate::support::Project;

#[test]
fn the_state_is_private_json_whose_serial_grows_with_each_change() {
    let p = Project::new("state", SMALL);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let mode = std::fs::metadata(p.state_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let first = p.state();
    assert_eq!(first["format_version"], 1);
    assert_eq!(first["resources"].as_array().unwrap().len(), 3);
    let serial = first["serial"].as_u64().unwrap();
    assert!(serial > 0);

    p.edit("description = \"test key\"", "description = \"changed\"");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let second = p.state();
    assert!(second["serial"].as_u64().unwrap() > serial);
    assert_eq!(second["lineage"], first["lineage"]);

    // Nothing to do changes nothing, not even the serial.
    p.rampart("apply", &["--auto-approve"]).expect(0);
    assert_eq!(p.state()["serial"], second["serial"]);
    let backup = p.state_path().with_extension("json.backup");
    let mode = std::fs::metadata(backup).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_second_run_fails_at_once_naming_the_holder_and_force_unlock_clears_a_dead_one() {
    let p = Project::new("lock", SMALL);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.edit("description = \"test key\"", "description = \"pending\"");
    let lock = p.lock_path();

    // An apply waiting at its confirmation prompt holds the lock.
    let mut holder = p.apply_waiting_at_prompt();
    let started = Instant::now();
    let err = p.rampart("apply", &["--auto-approve"]).expect(1).stderr();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the second run waited"
    );
    assert!(
        err.contains(&format!("locked by pid {}", holder.id())),
        "{err}"
    );
    assert!(err.contains("(apply)"), "{err}");
    assert!(err.contains("that run is still going"), "{err}");
    p.rampart("plan", &[]).expect(1);
    let refused = p.rampart("force-unlock", &[]).expect(1).stderr();
    assert!(refused.contains("still holds it"), "{refused}");

    // Saying no releases it.
    holder.stdin.take().unwrap().write_all(b"no\n").unwrap();
    let out = holder.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cancelled; nothing was changed"));
    assert!(!lock.exists());

    // A holder killed outright leaves its lock behind; force-unlock clears it.
    let mut dead = p.apply_waiting_at_prompt();
    let pid = dead.id();
    dead.kill().unwrap();
    dead.wait().unwrap();
    let err = p.rampart("apply", &["--auto-approve"]).expect(1).stderr();
    assert!(err.contains(&format!("locked by pid {pid}")), "{err}");
    assert!(
        err.contains("no longer running, so the lock is stale"),
        "{err}"
    );
    assert!(err.contains("force-unlock"), "{err}");
    let out = p.rampart("force-unlock", &[]).expect(0).stdout();
    assert!(out.contains(&format!("held by pid {pid}")), "{out}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
}

#[test]
fn debug_logs_show_the_work_but_never_the_credentials() {
    let p = Project::new("logs", SMALL);
    let secret = "s3cr3t-value-that-must-never-be-logged";
    let bp = p.blueprint();
    let out = p
        .command(&["apply", bp.to_str().unwrap(), "--auto-approve"])
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("RAMPART_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AWS configuration loaded"), "{stderr}");
    assert!(stderr.contains("saving state"), "{stderr}");
    let everything = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(!everything.contains(secret), "the secret key was printed");
    let state = std::fs::read_to_string(p.state_path()).unwrap();
    assert!(!state.contains(secret));
}

#[test]
fn show_prints_the_recorded_resources() {
    let p = Project::new("show", SMALL);
    let none = p.rampart("show", &[]).expect(0).stdout();
    assert!(none.contains("nothing was applied"), "{none}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let text = p.rampart("show", &[]).expect(0).stdout();
    assert!(
        text.contains(&format!("s3_bucket.a ({})", p.bucket("a"))),
        "{text}"
    );
    assert!(text.contains("3 resources"), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&p.rampart("show", &["--json"]).expect(0).stdout()).unwrap();
    assert_eq!(json["resources"].as_array().unwrap().len(), 3);
}

#[test]
fn a_plain_http_endpoint_off_loopback_is_refused_before_any_request() {
    let p = Project::new("endpoint", SMALL);
    let bp = p.blueprint();
    // Refused while the configuration is built: no request is ever sent to this address.
    let out = p
        .command(&["plan", bp.to_str().unwrap()])
        .env("AWS_ENDPOINT_URL", "http://192.0.2.10:4566")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refusing the plain-http endpoint"), "{err}");
    assert!(!p.state_path().exists());
}

#[test]
fn a_truncated_garbled_or_newer_state_is_refused_naming_the_backup_and_nothing_is_applied() {
    let p = Project::new("corrupt", SMALL);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    // A pending change, which a refused run must not make.
    p.edit(
        "description = \"test key\"",
        "description = \"must not be applied\"",
    );
    let good = std::fs::read(p.state_path()).unwrap();
    let newer = String::from_utf8(good.clone())
        .unwrap()
        .replace("\"format_version\": 1", "\"format_version\": 99");
    let damaged: [(&str, Vec<u8>); 3] = [
        ("truncated", good[..good.len() / 2].to_vec()),
        ("garbled", good.iter().map(|b| b ^ 0x5a).collect()),
        ("newer", newer.into_bytes()),
    ];
    for (how, bytes) in damaged {
        std::fs::write(p.state_path(), &bytes).unwrap();
        let err = p.rampart("apply", &["--auto-approve"]).expect(1).stderr();
        if how == "newer" {
            assert!(err.contains("newer than this rampart"), "{how}: {err}");
        } else {
            let backup = format!("state/{}.json.backup", p.prefix);
            assert!(
                err.contains("is corrupt") && err.contains(&backup),
                "{how}: the error names the backup to restore:\n{err}"
            );
        }
        assert_eq!(
            std::fs::read(p.state_path()).unwrap(),
            bytes,
            "{how}: the state was rewritten"
        );
        assert!(!p.lock_path().exists(), "{how}: the lock was left behind");
    }
    std::fs::write(p.state_path(), &good).unwrap();
    let plan = p.rampart("plan", &[]).expect(0).stdout();
    assert!(
        plan.contains("must not be applied") && plan.contains("1 to update"),
        "the refused runs changed nothing in AWS:\n{plan}"
    );
}
