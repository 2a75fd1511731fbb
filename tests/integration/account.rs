//! Account-wide settings (`account_public_access_block`, `iam_password_policy`): adopted, never
//! created twice, hardened by default, kept by drift, judged by the rules. Each test has an
//! emulator of its own: there is one such setting per account.

use serde_json::Value;

use crate::support::{Project, private_emulator, s3control_at, sdk_config_at};

const BASELINE: &str = r#"
[blueprint]
name = "data-platform"
region = "eu-west-1"

[account_public_access_block.account]

[iam_password_policy.account]
"#;

const ACCOUNT: &str = "123456789012";

#[tokio::test(flavor = "multi_thread")]
async fn the_account_settings_are_adopted_hardened_and_judged() {
    let emulator = private_emulator();
    let p = Project::new("account", BASELINE).on(&emulator);
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    for address in [
        "account_public_access_block.account",
        "iam_password_policy.account",
    ] {
        assert!(
            plan.contains(&format!("<= {address} ({ACCOUNT})")),
            "{plan}"
        );
    }
    p.rampart("apply", &["--auto-approve"]).expect(0);

    let iam = aws_sdk_iam::Client::new(&sdk_config_at(&emulator.endpoint, "eu-west-1").await);
    let policy = iam.get_account_password_policy().send().await.unwrap();
    let policy = policy.password_policy().unwrap();
    assert_eq!(policy.minimum_password_length(), Some(14));
    assert_eq!(policy.password_reuse_prevention(), Some(24));
    assert_eq!(policy.max_password_age(), Some(90));
    assert!(policy.require_symbols() && policy.require_numbers());
    assert!(policy.require_uppercase_characters() && policy.require_lowercase_characters());
    let s3control = s3control_at(&emulator.endpoint).await;
    let block = s3control
        .get_public_access_block()
        .account_id(ACCOUNT)
        .send()
        .await
        .unwrap();
    let block = block.public_access_block_configuration().unwrap();
    assert_eq!(
        [
            block.block_public_acls(),
            block.ignore_public_acls(),
            block.block_public_policy(),
            block.restrict_public_buckets()
        ],
        [Some(true); 4]
    );
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);
    p.rampart("drift", &[]).expect(0);

    // Weakened by hand: critical drift, healed by apply.
    iam.update_account_password_policy()
        .minimum_password_length(8)
        .allow_users_to_change_password(true)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .require_numbers(true)
        .require_symbols(true)
        .password_reuse_prevention(24)
        .max_password_age(90)
        .send()
        .await
        .unwrap();
    let report: Value =
        serde_json::from_str(&p.rampart("drift", &["--json"]).expect(2).stdout()).unwrap();
    let f = &report["findings"][0];
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    assert_eq!(
        (
            &f["attribute"],
            &f["severity"],
            &f["expected"],
            &f["actual"]
        ),
        (
            &Value::from("minimum_length"),
            &Value::from("critical"),
            &Value::from(14),
            &Value::from(8)
        )
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("drift", &[]).expect(0);

    // Each rule, broken once, at its line; apply refuses.
    let original = p.text();
    for (rule, header, line) in [
        (
            "RMP-IAM-003",
            "[iam_password_policy.account]",
            "minimum_length = 8",
        ),
        (
            "RMP-IAM-004",
            "[iam_password_policy.account]",
            "reuse_prevention = 5",
        ),
        (
            "RMP-IAM-005",
            "[iam_password_policy.account]",
            "require_symbols = false",
        ),
        (
            "RMP-IAM-006",
            "[iam_password_policy.account]",
            "max_age_days = 365",
        ),
        (
            "RMP-ACC-001",
            "[account_public_access_block.account]",
            "block_public_policy = false",
        ),
    ] {
        std::fs::write(
            p.blueprint(),
            original.replace(header, &format!("{header}\n{line}")),
        )
        .unwrap();
        let at = p.text().lines().position(|l| l == line).unwrap() + 1;
        let report: Value =
            serde_json::from_str(&p.rampart("check", &["--format", "json"]).expect(2).stdout())
                .unwrap();
        let found: Vec<(&str, u64)> = report["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["rule"].as_str().unwrap_or(""),
                    v["location"]["line"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(found, vec![(rule, at as u64)], "{report:#}");
        p.rampart("apply", &["--auto-approve"]).expect(1);
    }
    std::fs::write(p.blueprint(), &original).unwrap();

    // Destroy returns the account to AWS's defaults.
    p.rampart("destroy", &["--auto-approve"]).expect(0);
    assert!(iam.get_account_password_policy().send().await.is_err());
    assert!(
        s3control
            .get_public_access_block()
            .account_id(ACCOUNT)
            .send()
            .await
            .is_err()
    );
}

#[test]
fn a_blueprint_holds_one_of_each_account_setting() {
    let p = Project::new(
        "two-blocks",
        &format!("{BASELINE}\n[account_public_access_block.second]\n"),
    );
    let err = p.rampart("validate", &[]).expect(1).stderr();
    assert!(
        err.contains("the account has one account_public_access_block"),
        "{err}"
    );
}
