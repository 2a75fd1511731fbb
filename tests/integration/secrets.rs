//! `lambda_function` and `secret`: a rotation function, deployed from code beside the
//! blueprint, rotating an API-key secret encrypted with a customer key.

use crate::support::{Project, copy_dir, repo};

async fn config() -> aws_config::SdkConfig {
    crate::support::sdk_config().await
}

pub const BLUEPRINT: &str = r#"
[blueprint]
name = "data-platform"
region = "eu-west-1"

[kms_key.secrets]
alias = "alias/acme-secrets"

[iam_role.rotation]
name = "acme-rotation"
trust = ["lambda.amazonaws.com"]
managed_policies = ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]

[iam_role.rotation.policies.rotate-secrets]
Version = "2012-10-17"
Statement = [{ Effect = "Allow", Action = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"], Resource = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-*" }, { Effect = "Allow", Action = "secretsmanager:GetRandomPassword", Resource = "*" }, { Effect = "Allow", Action = ["kms:Decrypt", "kms:GenerateDataKey"], Resource = "*", Condition = { StringEquals = { "kms:ViaService" = "secretsmanager.eu-west-1.amazonaws.com" } } }]

[lambda_function.rotate]
name = "acme-rotate-api-key"
runtime = "python3.12"
handler = "index.handler"
role = "iam_role.rotation"
code = "lambda/rotate_api_key"
timeout_seconds = 30
environment = { LOG_LEVEL = "info" }

[secret.api]
name = "acme-api/openai"
description = "API key for the model provider"
kms_key = "kms_key.secrets"
rotation_lambda = "lambda_function.rotate"
rotation_days = 30
"#;

/// A project with the blueprint and a copy of the rotation function's code beside it.
pub fn project(tag: &str) -> Project {
    let p = Project::new(tag, BLUEPRINT);
    copy_dir(
        &repo().join("blueprints/lambda"),
        &p.dir.path().join("lambda"),
    );
    p
}

fn arn_of(state: &serde_json::Value, address: &str) -> String {
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("{address} not recorded"))["arn"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_rotates_with_its_lambda_and_its_value_never_shows() {
    let p = project("rotation");
    let plan = p.rampart("plan", &[]).expect(0).stdout();
    // The apply that makes the value runs with debug logs: they must not show it either.
    let bp = p.blueprint();
    let applied = crate::support::Run(
        p.command(&["apply", bp.to_str().unwrap(), "--auto-approve"])
            .env("RAMPART_LOG", "debug")
            .output()
            .unwrap(),
    )
    .expect(0);
    let conf = config().await;
    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let state = p.state();
    let secret_name = format!("{}-api/openai", p.prefix);

    let described = sm
        .describe_secret()
        .secret_id(&secret_name)
        .send()
        .await
        .unwrap();
    assert_eq!(described.rotation_enabled(), Some(true));
    assert_eq!(
        described.rotation_lambda_arn(),
        Some(arn_of(&state, "lambda_function.rotate").as_str())
    );
    assert_eq!(
        described
            .rotation_rules()
            .and_then(|r| r.automatically_after_days()),
        Some(30)
    );
    assert_eq!(
        described.kms_key_id(),
        Some(arn_of(&state, "kms_key.secrets").as_str())
    );
    let policy = lambda
        .get_policy()
        .function_name(format!("{}-rotate-api-key", p.prefix))
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let grant = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "RampartSecretsManagerRotation")
        .expect("Secrets Manager may invoke the function");
    assert_eq!(
        grant["Principal"]["Service"],
        "secretsmanager.amazonaws.com"
    );

    // The value exists, and appears nowhere rampart writes.
    let value = sm
        .get_secret_value()
        .secret_id(&secret_name)
        .send()
        .await
        .unwrap();
    let value = value.secret_string().unwrap().to_string();
    assert!(value.len() >= 32);
    let json_plan = p.rampart("plan", &["--json"]).expect(0).stdout();
    let state_text = std::fs::read_to_string(p.state_path()).unwrap();
    for (what, text) in [
        ("plan", plan),
        ("apply output", applied.stdout() + &applied.stderr()),
        ("JSON plan", json_plan),
        ("state", state_text),
    ] {
        assert!(
            !text.contains(&value),
            "the secret value appears in the {what}"
        );
    }
    let logged = p
        .command(&["plan", bp.to_str().unwrap()])
        .env("RAMPART_LOG", "debug")
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&logged.stderr).contains(&value),
        "the value was logged"
    );
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // Another rotation schedule is one update in place.
    p.edit("rotation_days = 30", "rotation_days = 60");
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("~ rotation_days = 30 -> 60"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    let described = sm
        .describe_secret()
        .secret_id(&secret_name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described
            .rotation_rules()
            .and_then(|r| r.automatically_after_days()),
        Some(60)
    );
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // New code content is one update of the function, detected by its hash.
    std::fs::write(
        p.dir.path().join("lambda/rotate_api_key/extra.py"),
        b"VERSION = 2\n",
    )
    .unwrap();
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("~ lambda_function.rotate"), "{plan}");
    assert!(plan.contains("~ code_sha256"), "{plan}");
    assert!(plan.contains("Plan: 0 to create, 1 to update"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // Rotation cancelled behind our back shows, and apply turns it on again.
    sm.cancel_rotate_secret()
        .secret_id(&secret_name)
        .send()
        .await
        .unwrap();
    let plan = p
        .rampart("plan", &["--detailed-exitcode"])
        .expect(2)
        .stdout();
    assert!(plan.contains("~ rotation_lambda = null ->"), "{plan}");
    p.rampart("apply", &["--auto-approve"]).expect(0);
    p.rampart("plan", &["--detailed-exitcode"]).expect(0);

    // Destroy keeps the secret recoverable for its window.
    p.rampart("destroy", &["--auto-approve"]).expect(0);
    let gone = sm
        .describe_secret()
        .secret_id(&secret_name)
        .send()
        .await
        .unwrap();
    assert!(
        gone.deleted_date().is_some(),
        "the secret was not scheduled for deletion"
    );
    assert!(
        lambda
            .get_function()
            .function_name(format!("{}-rotate-api-key", p.prefix))
            .send()
            .await
            .is_err()
    );
}

#[test]
fn a_secret_in_a_function_environment_is_refused_without_repeating_it() {
    let p = project("envsecret");
    p.edit(
        "environment = { LOG_LEVEL",
        "environment = { LOG_LEVEL = \"info\", DB_PASSWORD = \"hunter2-do-not-print\" }",
    );
    let err = p.rampart("validate", &[]).expect(1).stderr();
    assert!(err.contains("`DB_PASSWORD` looks like a secret"), "{err}");
    assert!(
        !err.contains("hunter2-do-not-print"),
        "the value was printed: {err}"
    );
}

#[test]
fn missing_lambda_code_is_a_located_error() {
    let p = Project::new("nocode", BLUEPRINT);
    let err = p.rampart("validate", &[]).expect(1).stderr();
    assert!(
        err.contains("`code` in `lambda_function.rotate`: cannot read"),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}:", p.blueprint().display())),
        "{err}"
    );
}
