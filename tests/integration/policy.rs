//! Hardening rules through the binary: `check` of the example is clean; each rule, broken
//! once in the example, is that rule's one finding at the right line and stops `apply` before
//! AWS is touched; waivers; SARIF; and `audit` of a whole (private) account.

use serde_json::Value;

use crate::support::{Project, private_emulator, s3control_at, sdk_config_at};

/// Rules not broken in the example here: the schema refuses it first, only an account shows
/// it, or the example has no such resource (account settings have a test of their own).
const NOT_IN_BLUEPRINTS: &[(&str, &str)] = &[
    (
        "RMP-ACC-001",
        "account settings: account::the_account_settings_are_adopted_hardened_and_judged",
    ),
    (
        "RMP-IAM-003",
        "account settings: account::the_account_settings_are_adopted_hardened_and_judged",
    ),
    (
        "RMP-IAM-004",
        "account settings: account::the_account_settings_are_adopted_hardened_and_judged",
    ),
    (
        "RMP-IAM-005",
        "account settings: account::the_account_settings_are_adopted_hardened_and_judged",
    ),
    (
        "RMP-IAM-006",
        "account settings: account::the_account_settings_are_adopted_hardened_and_judged",
    ),
    ("RMP-RDS-001", "`kms_key` is required on every database"),
    (
        "RMP-RDS-007",
        "the schema refuses engine-default admin names",
    ),
    ("RMP-RDS-009", "rampart always manages the master password"),
    ("RMP-IAM-002", "the schema refuses `*` in `trust`"),
    ("RMP-CT-007", "an account setting, judged by audit"),
    (
        "RMP-KMS-004",
        "a key scheduled for deletion, judged by audit",
    ),
];

/// (rule, line to replace, its replacement, the line the finding must point at).
fn cases(features: &str) -> Vec<(&'static str, String, String, String)> {
    let without = |feature: &str| {
        let kept: Vec<&str> = [
            "S3_DATA_EVENTS",
            "RDS_LOGIN_EVENTS",
            "LAMBDA_NETWORK_LOGS",
            "EBS_MALWARE_PROTECTION",
            "RUNTIME_MONITORING",
        ]
        .into_iter()
        .filter(|f| *f != feature)
        .collect();
        format!("features = {kept:?}")
    };
    let same = |rule: &'static str, needle: &str, line: &str| {
        (rule, needle.to_string(), line.to_string(), line.to_string())
    };
    let removed = |rule: &'static str, needle: &str, header: &str| {
        (rule, needle.to_string(), String::new(), header.to_string())
    };
    vec![
        removed(
            "RMP-S3-001",
            "kms_key = \"kms_key.data\"        # seed",
            "[s3_bucket.raw]",
        ),
        same(
            "RMP-S3-002",
            "block_public_access = true      # seed",
            "block_public_access = false",
        ),
        same(
            "RMP-S3-003",
            "require_tls = true              # seed",
            "require_tls = false",
        ),
        same(
            "RMP-S3-004",
            "versioning = true               # seed",
            "versioning = false",
        ),
        removed(
            "RMP-S3-005",
            "access_logs = \"s3_bucket.access_logs\"   # seed",
            "[s3_bucket.raw]",
        ),
        removed("RMP-S3-006", "object_lock = {", "[s3_bucket.audit]"),
        (
            "RMP-S3-007",
            "data_events = [".into(),
            "data_events = [\"s3_bucket.raw\", \"s3_bucket.production\"]".into(),
            "[s3_bucket.processed]".into(),
        ),
        same(
            "RMP-KMS-001",
            "rotation = true                 # seed",
            "rotation = false",
        ),
        same(
            "RMP-KMS-002",
            "rotation_period_days = 365",
            "rotation_period_days = 730",
        ),
        (
            "RMP-KMS-003",
            "rotation_period_days = 365".into(),
            "rotation_period_days = 365\npolicy = '''{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"*\"}, \"Action\": \"kms:*\", \"Resource\": \"*\"}]}'''".into(),
            "policy = ".into(),
        ),
        same("RMP-CT-001", "multi_region = true", "multi_region = false"),
        same(
            "RMP-CT-002",
            "log_file_validation = true",
            "log_file_validation = false",
        ),
        removed(
            "RMP-CT-003",
            "kms_key = \"kms_key.audit\"       #",
            "[cloudtrail.platform]",
        ),
        same("RMP-CT-004", "logging = true", "logging = false"),
        (
            "RMP-CT-005",
            "logging = true".into(),
            "logging = true\nmanagement_events = false".into(),
            "management_events = false".into(),
        ),
        same(
            "RMP-CT-006",
            "include_global_service_events = true",
            "include_global_service_events = false",
        ),
        (
            "RMP-GD-001",
            "features = [".into(),
            format!("{features}\nenabled = false"),
            "enabled = false".into(),
        ),
        (
            "RMP-GD-002",
            "features = [".into(),
            format!("{features}\nregions = [\"eu-west-1\"]"),
            "regions = [\"eu-west-1\"]".into(),
        ),
        same("RMP-GD-003", "features = [", &without("S3_DATA_EVENTS")),
        same("RMP-GD-004", "features = [", &without("RDS_LOGIN_EVENTS")),
        same("RMP-GD-005", "features = [", &without("EBS_MALWARE_PROTECTION")),
        same("RMP-GD-006", "features = [", &without("LAMBDA_NETWORK_LOGS")),
        same("RMP-GD-007", "features = [", &without("RUNTIME_MONITORING")),
        same(
            "RMP-RDS-002",
            "publicly_accessible = false",
            "publicly_accessible = true",
        ),
        same(
            "RMP-RDS-003",
            "deletion_protection = true",
            "deletion_protection = false",
        ),
        same(
            "RMP-RDS-004",
            "backup_retention_days = 14",
            "backup_retention_days = 3",
        ),
        same("RMP-RDS-005", "iam_auth = true", "iam_auth = false"),
        same("RMP-RDS-006", "force_tls = true", "force_tls = false"),
        (
            "RMP-RDS-008",
            "force_tls = true".into(),
            "force_tls = true\nauto_minor_version_upgrade = false".into(),
            "auto_minor_version_upgrade = false".into(),
        ),
        same("RMP-RDS-010", "log_exports = [", "log_exports = []"),
        removed(
            "RMP-SM-001",
            "rotation_lambda = \"lambda_function.rotate_api_key\"",
            "[secret.api_key]",
        ),
        same("RMP-SM-002", "rotation_days = 30              #", "rotation_days = 120"),
        removed(
            "RMP-SM-003",
            "kms_key = \"kms_key.secrets\"",
            "[secret.api_key]",
        ),
        (
            "RMP-IAM-001",
            "[iam_role.analyst.policies.read-processed]".into(),
            "[iam_role.analyst.policies.admin]\nVersion = \"2012-10-17\"\nStatement = [{ Effect = \"Allow\", Action = \"*\", Resource = \"*\" }]\n\n[iam_role.analyst.policies.read-processed]".into(),
            "[iam_role.analyst.policies.admin]".into(),
        ),
        same(
            "RMP-LMB-001",
            "runtime = \"python3.12\"",
            "runtime = \"python3.8\"",
        ),
    ]
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no line starting with {needle:?}"))
}

#[test]
fn the_example_is_clean_and_each_rule_broken_once_is_found_at_its_line_and_refused() {
    let p = Project::example_offline("rules");
    let clean = p.rampart("check", &["--format", "json"]).expect(0);
    let report: Value = serde_json::from_str(&clean.stdout()).unwrap();
    assert_eq!(report["violations"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["waived"], serde_json::json!([]));
    p.rampart("validate", &[]).expect(0);

    let rules: Value =
        serde_json::from_str(&p.run(&["rules", "--json"]).expect(0).stdout()).unwrap();
    let all: Vec<String> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let original = p.text();
    let features = original
        .lines()
        .find(|l| l.starts_with("features = ["))
        .unwrap()
        .to_string();
    let cases = cases(&features);
    let mut covered: Vec<&str> = cases.iter().map(|c| c.0).collect();
    covered.extend(NOT_IN_BLUEPRINTS.iter().map(|(id, _)| *id));
    covered.sort();
    let mut want: Vec<&str> = all.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(
        covered, want,
        "every rule needs a case here, or a reason it has none"
    );

    for (rule, needle, replacement, at) in &cases {
        std::fs::write(p.blueprint(), &original).unwrap();
        p.edit(needle, replacement);
        let text = p.text();
        let run = p.rampart("check", &["--format", "json"]).expect(2);
        let report: Value = serde_json::from_str(&run.stdout()).unwrap();
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
        assert_eq!(
            found,
            vec![(*rule, line_of(&text, at) as u64)],
            "{rule}: {report:#}"
        );
        let refused = p.rampart("apply", &["--auto-approve"]).expect(1).stderr();
        assert!(
            refused.contains(&format!("error[{rule}]")) && refused.contains("Apply refused"),
            "{rule}: {refused}"
        );
        assert!(!p.state_path().exists(), "{rule}: apply wrote a state");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiver_lets_apply_go_on_and_is_listed_until_it_expires() {
    let p = Project::new("waiver", crate::engine::SMALL);
    p.edit("name = \"acme-a\"", "name = \"acme-a\"\nversioning = false");
    let refused = p.rampart("plan", &[]).expect(1);
    assert!(
        refused.stderr().contains("RMP-S3-004"),
        "{}",
        refused.stderr()
    );

    let waiver = |expires: &str| {
        format!(
            "\n[[waiver]]\nrule = \"RMP-S3-004\"\nresource = \"s3_bucket.a\"\nreason = \"scratch data, rebuilt nightly\"\nexpires = \"{expires}\"\n"
        )
    };
    let base = p.text();
    std::fs::write(p.blueprint(), format!("{base}{}", waiver("2020-01-31"))).unwrap();
    let expired = p.rampart("apply", &["--auto-approve"]).expect(1).stderr();
    assert!(expired.contains("expired on 2020-01-31"), "{expired}");
    assert!(expired.contains("nothing was changed"), "{expired}");
    assert!(!p.state_path().exists());

    std::fs::write(p.blueprint(), format!("{base}{}", waiver("2099-12-31"))).unwrap();
    let check = p.rampart("check", &[]).expect(0).stdout();
    assert!(check.contains("waived[RMP-S3-004]"), "{check}");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(
        plan.contains("waived[RMP-S3-004]")
            && plan.contains("waived until 2099-12-31: scratch data, rebuilt nightly"),
        "{plan}"
    );
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let s3 = crate::support::s3().await;
    let versioning = s3
        .get_bucket_versioning()
        .bucket(p.bucket("a"))
        .send()
        .await
        .unwrap();
    assert_ne!(
        versioning.status(),
        Some(&aws_sdk_s3::types::BucketVersioningStatus::Enabled),
        "the waived bucket is as the blueprint says"
    );
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(0)
        .stdout();
    assert!(plan.contains("waived[RMP-S3-004]"), "still listed: {plan}");
}

#[test]
fn sarif_has_every_rule_and_results_located_in_the_blueprint() {
    let p = Project::example_offline("sarif");
    p.edit("multi_region = true", "multi_region = false");
    let text = p.text();
    let out = p
        .rampart("check", &["--format", "sarif"])
        .expect(2)
        .stdout();
    let sarif: Value = serde_json::from_str(&out).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let listed: Value =
        serde_json::from_str(&p.run(&["rules", "--json"]).expect(0).stdout()).unwrap();
    assert_eq!(rules.len(), listed.as_array().unwrap().len());
    assert!(
        rules
            .iter()
            .all(|r| r["shortDescription"]["text"].is_string()
                && r["fullDescription"]["text"].is_string()
                && r["help"]["text"].is_string())
    );
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{sarif:#}");
    let r = &results[0];
    assert_eq!(r["ruleId"], "RMP-CT-001");
    assert_eq!(
        rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "RMP-CT-001"
    );
    let at = &r["locations"][0]["physicalLocation"];
    assert!(
        at["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("blueprint.toml")
    );
    assert_eq!(
        at["region"]["startLine"].as_u64(),
        Some(line_of(&text, "multi_region = false") as u64)
    );
}

/// The account-level S3 public-access block, all four flags on, and a CIS password policy:
/// the account settings a baseline makes, set by hand.
async fn harden_account_by_hand(endpoint: &str, account: &str) {
    s3control_at(endpoint)
        .await
        .put_public_access_block()
        .account_id(account)
        .public_access_block_configuration(
            aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_iam::Client::new(&sdk_config_at(endpoint, "eu-west-1").await)
        .update_account_password_policy()
        .minimum_password_length(14)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .require_numbers(true)
        .require_symbols(true)
        .password_reuse_prevention(24)
        .max_password_age(90)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_reports_exactly_what_was_made_insecure_by_hand() {
    let emulator = private_emulator();
    let endpoint = emulator.endpoint.clone();
    let p = Project::example_offline("audit-live").on(&emulator);
    p.rampart("apply", &["--auto-approve"]).expect(0);
    harden_account_by_hand(&endpoint, "123456789012").await;
    let audit = |format: &str| {
        p.run(&[
            "audit",
            "--regions",
            "eu-west-1,eu-central-1",
            "--format",
            format,
        ])
    };
    let clean = audit("json").expect(0);
    let report: Value = serde_json::from_str(&clean.stdout()).unwrap();
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");

    let conf = sdk_config_at(&endpoint, "eu-west-1").await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let insecure = format!("{}-by-hand", p.prefix);
    s3.create_bucket()
        .bucket(&insecure)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let key = aws_sdk_kms::Client::new(&conf)
        .create_key()
        .description("made by hand, never rotated")
        .send()
        .await
        .unwrap();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
    let trail = format!("{}-platform-trail", p.prefix);
    aws_sdk_cloudtrail::Client::new(&conf)
        .stop_logging()
        .name(&trail)
        .send()
        .await
        .unwrap();

    let run = audit("json").expect(2);
    let report: Value = serde_json::from_str(&run.stdout()).unwrap();
    let mut found: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["resource"].as_str().unwrap().to_string(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let bucket = format!("s3_bucket:{insecure}");
    let mut want: Vec<(String, String)> = [
        "RMP-S3-001",
        "RMP-S3-002",
        "RMP-S3-003",
        "RMP-S3-004",
        "RMP-S3-005",
        "RMP-S3-007",
    ]
    .iter()
    .map(|r| (bucket.clone(), r.to_string()))
    .collect();
    want.push((format!("kms_key:{key_id}"), "RMP-KMS-001".into()));
    want.push((format!("cloudtrail:{trail}"), "RMP-CT-004".into()));
    // The account's only trail stopped: the account has no logging trail left.
    want.push(("account".into(), "RMP-CT-007".into()));
    want.sort();
    assert_eq!(found, want, "{report:#}");

    let frameworks = report["frameworks"].as_array().unwrap();
    let cis = frameworks
        .iter()
        .find(|f| f["framework"] == "CIS AWS Foundations v3.0")
        .unwrap();
    let failed: Vec<&str> = cis["failed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for control in ["2.1.1", "2.1.4", "3.1", "3.6"] {
        assert!(failed.contains(&control), "CIS {control} passed: {cis}");
    }
    let text = audit("text").expect(2).stdout();
    assert!(text.contains("error[RMP-KMS-001]"), "{text}");
    assert!(text.contains("CIS AWS Foundations v3.0"), "{text}");
    let sarif: Value = serde_json::from_str(&audit("sarif").expect(2).stdout()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        want.len()
    );

    // A key scheduled for deletion is a finding of its own (FSBP KMS.3).
    aws_sdk_kms::Client::new(&conf)
        .schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let report: Value = serde_json::from_str(&audit("json").expect(2).stdout()).unwrap();
    let on_key: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["resource"] == format!("kms_key:{key_id}").as_str())
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(on_key, vec!["RMP-KMS-004"], "{report:#}");
}

#[test]
fn every_rule_is_listed_explained_and_documented_in_the_readme() {
    let p = Project::example_offline("rule-list");
    let list = p.run(&["rules"]).expect(0).stdout();
    let rules: Value =
        serde_json::from_str(&p.run(&["rules", "--json"]).expect(0).stdout()).unwrap();
    let readme = std::fs::read_to_string(crate::support::repo().join("README.md")).unwrap();
    for r in rules.as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        assert!(list.contains(id), "`rampart rules` lacks {id}");
        assert!(readme.contains(&format!("| `{id}` |")), "README lacks {id}");
        for field in ["title", "rationale", "fix"] {
            assert!(
                r[field].as_str().is_some_and(|t| t.len() > 10),
                "{id} has no {field}"
            );
        }
        let c = &r["controls"];
        let mapped = ["seed", "cis", "fsbp", "frameworks"]
            .iter()
            .any(|k| c[k].as_array().is_some_and(|a| !a.is_empty()));
        assert!(mapped, "{id} maps to no control");
    }
    let one = p.run(&["rules", "RMP-S3-003"]).expect(0).stdout();
    assert!(one.contains("CIS AWS Foundations v3.0: 2.1.1"), "{one}");
    assert!(one.contains("fix: "), "{one}");
    let err = p.run(&["rules", "RMP-S3-03"]).expect(1).stderr();
    assert!(err.contains("did you mean `RMP-S3-003`?"), "{err}");
}
