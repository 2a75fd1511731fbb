//! The account baseline `rampart bootstrap` writes: an ordinary blueprint, the same text for
//! the same account and flags, so that running bootstrap again is a plan with no changes.

/// What the baseline is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// The account's short name: it prefixes every name.
    pub alias: String,
    pub account: String,
    pub home: String,
    /// Regions GuardDuty runs in (the home region first).
    pub regions: Vec<String>,
    /// Days the trail's log objects are locked (compliance mode).
    pub log_retention_days: i64,
    /// The trail: an existing one to adopt, else `ALIAS-account-trail`.
    pub trail: String,
}

impl Baseline {
    /// The state bucket: bucket names are global, so the account id is part of it.
    pub fn state_bucket(&self) -> String {
        Baseline::state_bucket_of(&self.alias, &self.account)
    }

    /// The state object of the baseline itself.
    pub fn state_key(&self) -> String {
        Baseline::state_key_of(&self.alias)
    }

    pub fn state_bucket_of(alias: &str, account: &str) -> String {
        format!("{alias}-rampart-state-{account}")
    }

    pub fn state_key_of(alias: &str) -> String {
        format!("{alias}/baseline.json")
    }

    pub fn blueprint_name(&self) -> String {
        format!("{}-baseline", self.alias)
    }

    /// The blueprint; `state_kms_key` (the state key's ARN, known once it exists) puts its
    /// state in S3, else it keeps a local one while the backend is being made.
    pub fn blueprint(&self, state_kms_key: Option<&str>, local_state: &str) -> String {
        let a = &self.alias;
        let quoted = |list: &[String]| {
            list.iter()
                .map(|r| format!("\"{r}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let state = match state_kms_key {
            Some(key) => format!(
                "backend = \"s3\"\nbucket = \"{}\"\nkey = \"{}\"\nregion = \"{}\"\nkms_key = \"{key}\"",
                self.state_bucket(),
                self.state_key(),
                self.home
            ),
            None => format!(
                "# While bootstrap makes the S3 backend; it then moves the state there.\npath = \"{local_state}\""
            ),
        };
        format!(
            r#"# The secure baseline of account {account} ({a}), written by `rampart bootstrap`.
# An ordinary blueprint: change it and run `rampart plan` / `rampart apply`.

[blueprint]
name = "{name}"
region = "{home}"
account_id = "{account}"
regions = [{regions}]

[state]
{state}

[tags]
owner = "platform-security"
purpose = "account-baseline"

# --- The state backend ---------------------------------------------------------------------

[kms_key.state]
description = "rampart state of account {account}"
alias = "alias/{a}-rampart-state"
rotation = true
prevent_destroy = true          # the key of the state itself

[s3_bucket.state]
name = "{state_bucket}"
kms_key = "kms_key.state"
versioning = true
block_public_access = true
require_tls = true
access_logs = "s3_bucket.access_logs"
lifecycle = {{ noncurrent_expiration_days = 365 }}   # old state versions expire after a year
prevent_destroy = true

# --- Audit logs ----------------------------------------------------------------------------

[kms_key.logs]
description = "CloudTrail logs of account {account}"
alias = "alias/{a}-audit-logs"
rotation = true
prevent_destroy = true          # without it, the audit logs could never be read again

[s3_bucket.access_logs]
name = "{a}-access-logs-{account}"    # server access logs: AWS delivers them to SSE-S3 buckets only
versioning = true
block_public_access = true
require_tls = true
lifecycle = {{ noncurrent_expiration_days = 365 }}

[s3_bucket.trail_logs]
name = "{a}-cloudtrail-{account}"
kms_key = "kms_key.logs"
versioning = true
block_public_access = true
require_tls = true
access_logs = "s3_bucket.access_logs"
object_lock = {{ mode = "COMPLIANCE", retention_days = {retention} }}
prevent_destroy = true

[cloudtrail.account]
name = "{trail}"
bucket = "s3_bucket.trail_logs"
kms_key = "kms_key.logs"
multi_region = true
include_global_service_events = true
log_file_validation = true
data_events = ["s3_bucket.state"]

# --- Threat detection and account settings -------------------------------------------------

[guardduty_detector.account]
regions = [{regions}]

[account_public_access_block.account]

[iam_password_policy.account]
"#,
            account = self.account,
            name = self.blueprint_name(),
            home = self.home,
            regions = quoted(&self.regions),
            state_bucket = self.state_bucket(),
            retention = self.log_retention_days,
            trail = self.trail,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn baseline() -> Baseline {
        Baseline {
            alias: "acme-prod".into(),
            account: "123456789012".into(),
            home: "eu-west-1".into(),
            regions: vec!["eu-west-1".into(), "eu-central-1".into()],
            log_retention_days: 2190,
            trail: "acme-prod-account-trail".into(),
        }
    }

    #[test]
    fn the_baseline_is_a_valid_blueprint_that_breaks_no_rule() {
        for key in [None, Some("arn:aws:kms:eu-west-1:123456789012:key/k")] {
            let text = baseline().blueprint(key, ".rampart/acme-prod.json");
            let bp = crate::blueprint::parse(Path::new("b.toml"), text.as_bytes())
                .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
            let judged = crate::policy::evaluate::check_blueprint(
                &bp,
                chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default(),
            );
            assert!(judged.is_clean(), "{:?}", judged.violations);
        }
    }

    #[test]
    fn the_same_account_and_flags_make_the_same_text() {
        let key = Some("arn:k");
        assert_eq!(
            baseline().blueprint(key, "x"),
            baseline().blueprint(key, "x")
        );
    }
}
