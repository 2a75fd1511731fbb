//! TLS behind a TLS-inspecting proxy: the emulator serves HTTPS with a certificate from a test
//! CA; rampart trusts it only through `AWS_CA_BUNDLE` or the profile's `ca_bundle`, and never
//! without verification.

use crate::engine::SMALL;
use crate::support::{Project, tls_emulator};

#[test]
fn a_ca_bundle_is_trusted_beside_the_system_roots_and_nothing_else_is() {
    let dir = tempfile::tempdir().unwrap();
    let emulator = tls_emulator(dir.path());
    let p = Project::new("tls", SMALL).on(&emulator);
    let bp = p.blueprint();
    let bp = bp.to_str().unwrap();
    let ca = dir.path().join("ca.pem");

    // With the proxy's CA, plan and apply work.
    let run = |args: &[&str]| p.command(args).env("AWS_CA_BUNDLE", &ca).output().unwrap();
    let out = run(&["apply", bp, "--auto-approve"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["plan", bp, "--detailed-exitcode"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without it, the refresh fails on the certificate, and says so.
    let out = p
        .command(&["plan", bp])
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // The same through the profile's `ca_bundle`, as the AWS CLI reads it.
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        format!("[default]\nca_bundle = {}\n", ca.display()),
    )
    .unwrap();
    let out = p
        .command(&["plan", bp, "--detailed-exitcode"])
        .env_remove("AWS_CA_BUNDLE")
        .env("AWS_CONFIG_FILE", &config)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A bundle that is not one says so.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let out = p
        .command(&["plan", bp])
        .env("AWS_CA_BUNDLE", &junk)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("holds no PEM certificate"), "{err}");
}
