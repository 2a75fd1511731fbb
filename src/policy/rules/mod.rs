//! Every rule, one file each, and the small checks they are made of.

mod acc_001_account_public_access_block;
mod ct_001_multi_region;
mod ct_002_log_file_validation;
mod ct_003_kms_encryption;
mod ct_004_logging;
mod ct_005_management_events;
mod ct_006_global_service_events;
mod ct_007_account_trail;
mod gd_001_enabled;
mod gd_002_every_region;
mod gd_003_s3_protection;
mod gd_004_rds_protection;
mod gd_005_malware_protection;
mod gd_006_lambda_protection;
mod gd_007_runtime_monitoring;
mod iam_001_no_admin_wildcard;
mod iam_002_no_open_trust;
mod iam_003_password_length;
mod iam_004_password_reuse;
mod iam_005_password_complexity;
mod iam_006_password_expiry;
mod kms_001_rotation;
mod kms_002_rotation_period;
mod kms_003_no_public_key_policy;
mod kms_004_no_pending_deletion;
mod lmb_001_supported_runtime;
mod rds_001_encrypted;
mod rds_002_private;
mod rds_003_deletion_protection;
mod rds_004_backups;
mod rds_005_iam_auth;
mod rds_006_tls;
mod rds_007_custom_admin;
mod rds_008_minor_upgrades;
mod rds_009_managed_password;
mod rds_010_log_exports;
mod s3_001_kms_encryption;
mod s3_002_public_access_block;
mod s3_003_tls_only;
mod s3_004_versioning;
mod s3_005_access_logging;
mod s3_006_audit_log_lock;
mod s3_007_object_level_logging;
mod sm_001_rotation;
mod sm_002_rotation_period;
mod sm_003_customer_key;
#[cfg(test)]
pub(crate) mod testing;

use serde_json::Value;

use super::{Breach, Mode, Rule, Subject};

/// Every rule, in the order `rampart rules` lists them.
pub static RULES: &[&Rule] = &[
    &s3_001_kms_encryption::RULE,
    &s3_002_public_access_block::RULE,
    &s3_003_tls_only::RULE,
    &s3_004_versioning::RULE,
    &s3_005_access_logging::RULE,
    &s3_006_audit_log_lock::RULE,
    &s3_007_object_level_logging::RULE,
    &acc_001_account_public_access_block::RULE,
    &kms_001_rotation::RULE,
    &kms_002_rotation_period::RULE,
    &kms_003_no_public_key_policy::RULE,
    &kms_004_no_pending_deletion::RULE,
    &ct_001_multi_region::RULE,
    &ct_002_log_file_validation::RULE,
    &ct_003_kms_encryption::RULE,
    &ct_004_logging::RULE,
    &ct_005_management_events::RULE,
    &ct_006_global_service_events::RULE,
    &ct_007_account_trail::RULE,
    &gd_001_enabled::RULE,
    &gd_002_every_region::RULE,
    &gd_003_s3_protection::RULE,
    &gd_004_rds_protection::RULE,
    &gd_005_malware_protection::RULE,
    &gd_006_lambda_protection::RULE,
    &gd_007_runtime_monitoring::RULE,
    &rds_001_encrypted::RULE,
    &rds_002_private::RULE,
    &rds_003_deletion_protection::RULE,
    &rds_004_backups::RULE,
    &rds_005_iam_auth::RULE,
    &rds_006_tls::RULE,
    &rds_007_custom_admin::RULE,
    &rds_008_minor_upgrades::RULE,
    &rds_009_managed_password::RULE,
    &rds_010_log_exports::RULE,
    &sm_001_rotation::RULE,
    &sm_002_rotation_period::RULE,
    &sm_003_customer_key::RULE,
    &iam_001_no_admin_wildcard::RULE,
    &iam_002_no_open_trust::RULE,
    &iam_003_password_length::RULE,
    &iam_004_password_reuse::RULE,
    &iam_005_password_complexity::RULE,
    &iam_006_password_expiry::RULE,
    &lmb_001_supported_runtime::RULE,
];

/// A switch that must be on.
fn on(s: &Subject, field: &'static str) -> Option<Breach> {
    match s.attr(field)? {
        Value::Bool(true) => None,
        _ => Breach::at(field, format!("`{field}` is off")),
    }
}

/// A switch that must be off.
fn off(s: &Subject, field: &'static str) -> Option<Breach> {
    match s.attr(field)? {
        Value::Bool(false) => None,
        _ => Breach::at(field, format!("`{field}` is on")),
    }
}

/// A number that must be at least `min`.
fn at_least(s: &Subject, field: &'static str, min: i64) -> Option<Breach> {
    let value = s.attr(field)?.as_i64()?;
    (value < min).then(|| Breach {
        field: Some(field),
        message: format!("`{field}` is {value}; at least {min} is required"),
    })
}

/// A number that must be at most `max`.
fn at_most(s: &Subject, field: &'static str, max: i64) -> Option<Breach> {
    let value = s.attr(field)?.as_i64()?;
    (value > max).then(|| Breach {
        field: Some(field),
        message: format!("`{field}` is {value}; at most {max} is allowed"),
    })
}

/// A number that must be set: AWS's default (no value) is no protection.
fn unset(s: &Subject, field: &'static str) -> Option<Breach> {
    match s.attr(field) {
        Some(Value::Null) => Breach::at(field, format!("`{field}` is not set")),
        _ => None,
    }
}

/// A field that must be set. Left out of a blueprint, it is not; left out of what AWS
/// reported, it was not read, and nothing can be said.
fn set(s: &Subject, field: &'static str, what: &str) -> Option<Breach> {
    match (s.attr(field), s.mode) {
        (Some(Value::Null), _) | (None, Mode::Desired) => {
            Breach::at(field, format!("`{field}` is not set: {what}"))
        }
        _ => None,
    }
}

/// A customer-managed KMS key: an address in a blueprint, a key id or ARN in AWS. Readers
/// describe anything else in words (`none (unencrypted)`).
fn customer_key(s: &Subject, field: &'static str) -> Option<Breach> {
    match s.attr(field) {
        // SSE-KMS without a key id is the AWS managed key (`aws/s3`).
        Some(Value::String(key)) if key.is_empty() => Breach::at(
            field,
            format!("`{field}` is the AWS managed key, not a customer-managed one"),
        ),
        // The bucket key is a cost setting, not a weaker key.
        Some(Value::String(key))
            if !key.contains(' ') || key.ends_with(" (bucket key disabled)") =>
        {
            None
        }
        Some(Value::String(other)) => Breach::at(
            field,
            format!("`{field}` is {other}, not a customer-managed KMS key"),
        ),
        None if s.mode == Mode::Actual => None,
        _ => Breach::at(
            field,
            format!("`{field}` is not set: no customer-managed KMS key"),
        ),
    }
}

/// A list that must hold `item`.
fn includes(s: &Subject, field: &'static str, item: &str) -> Option<Breach> {
    let list = s.attr(field)?.as_array()?;
    (!list.iter().any(|v| v.as_str() == Some(item))).then(|| Breach {
        field: Some(field),
        message: format!("`{field}` lacks {item}"),
    })
}

/// The statements of a policy document (one object or a list).
fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// Whether a policy element (a string or a list of them) is or holds `*`.
fn wildcard(element: Option<&Value>) -> bool {
    match element {
        Some(Value::String(s)) => s == "*",
        Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some("*")),
        Some(Value::Object(map)) => map.values().any(|v| wildcard(Some(v))),
        _ => false,
    }
}

/// Whether a statement allows something to everyone, with no condition narrowing it.
fn allows_anyone(statement: &Value) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some("Allow")
        && wildcard(statement.get("Principal"))
        && statement.get("Condition").is_none()
}
