//! `s3_bucket`: a bucket with SSE-KMS, versioning, public-access block, a TLS-only policy,
//! and optional object lock, server access logs and lifecycle of old versions.
//!
//! Refresh makes five concurrent calls, plus one per optional feature the blueprint or the
//! state manages: GetBucketEncryption (`kms_key`), GetBucketVersioning (`versioning`),
//! GetPublicAccessBlock (`block_public_access`), GetBucketPolicy (`require_tls`),
//! GetBucketTagging (`tags`); GetObjectLockConfiguration, GetBucketLogging and
//! GetBucketLifecycleConfiguration only for `object_lock`, `access_logs` and `lifecycle`.
//! A `NoSuchBucket` answer to any of them means the bucket is gone.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketLoggingStatus,
    BucketVersioningStatus, CreateBucketConfiguration, DefaultRetention, Delete, ExpirationStatus,
    LifecycleRule, LifecycleRuleFilter, LoggingEnabled, NoncurrentVersionExpiration,
    ObjectIdentifier, ObjectLockConfiguration, ObjectLockEnabled, ObjectLockRetentionMode,
    ObjectLockRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use futures::StreamExt;
use serde_json::{Value, json};

use super::{
    Created, Ctx, DeletionCheck, Discovered, Failure, ReadAccess, Referrers, ResourceKind,
    bool_attr, cloudtrail, error_code, manages, names, str_attr, tags,
};
use crate::aws::Aws;
use crate::blueprint::schema::{Control, Default, Field, Replace, Type};
use crate::blueprint::{Attrs, Resource};
use crate::state::Recorded;

pub struct S3Bucket;

static OBJECT_LOCK: &[Field] = &[
    Field::optional(
        "mode",
        Type::Str(Some(check_lock_mode)),
        "`COMPLIANCE` or `GOVERNANCE`",
    )
    .required(),
    Field::optional(
        "retention_days",
        Type::Int { min: 1, max: 36500 },
        "default retention of new objects",
    )
    .required(),
];

static LIFECYCLE: &[Field] = &[Field::optional(
    "noncurrent_expiration_days",
    Type::Int { min: 1, max: 36500 },
    "days after which old versions expire",
)
.required()];

static SCHEMA: &[Field] = &[
    Field::optional(
        "name",
        Type::Str(Some(check_bucket_name)),
        "the bucket name",
    )
    .required()
    .replace(Replace::OnChange)
    .unique(),
    // Public access is shut first (update applies attributes in schema order), so a new
    // bucket is never open while the rest is configured.
    Field::optional(
        "block_public_access",
        Type::Bool,
        "all four public-access-block flags",
    )
    .default(Default::Bool(true))
    .control(Control::On),
    Field::optional(
        "kms_key",
        Type::Ref("kms_key"),
        "SSE-KMS default encryption key; left out, SSE-S3",
    )
    .default(Default::Null)
    .control(Control::Key),
    Field::optional("versioning", Type::Bool, "object versioning")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional(
        "require_tls",
        Type::Bool,
        "bucket policy denying requests without TLS",
    )
    .default(Default::Bool(true))
    .control(Control::On),
    Field::optional(
        "object_lock",
        Type::Table(OBJECT_LOCK),
        "object lock with default retention",
    )
    .replace(Replace::OnPresenceChange)
    .control(Control::Present),
    Field::optional(
        "access_logs",
        Type::Ref("s3_bucket"),
        "bucket that receives server access logs",
    )
    .control(Control::Present),
    Field::optional(
        "lifecycle",
        Type::Table(LIFECYCLE),
        "expiry of noncurrent versions",
    ),
    Field::optional("tags", Type::StrMap, "tags besides the blueprint's"),
    Field::optional(
        "log_delivery_from",
        Type::StrList(None),
        "buckets whose access logs this bucket receives",
    )
    .computed()
    .control(Control::Includes),
    Field::optional(
        "cloudtrail_delivery_from",
        Type::StrList(None),
        "trails whose logs this bucket receives",
    )
    .computed()
    .control(Control::Includes),
];

const LIFECYCLE_RULE_ID: &str = "rampart-noncurrent-versions";
const TLS_STATEMENT_ID: &str = "DenyInsecureTransport";
const LOG_STATEMENT_ID: &str = "AllowServerAccessLogDelivery";
const LOGGING_SERVICE: &str = "logging.s3.amazonaws.com";

/// The attributes that together make up the bucket policy rampart owns.
const POLICY_ATTRS: [&str; 3] = [
    "require_tls",
    "log_delivery_from",
    "cloudtrail_delivery_from",
];

fn check_lock_mode(mode: &str) -> Result<(), String> {
    match mode {
        "COMPLIANCE" | "GOVERNANCE" => Ok(()),
        _ => Err("object lock mode is `COMPLIANCE` or `GOVERNANCE`".into()),
    }
}

/// S3's rules for general purpose bucket names.
pub fn check_bucket_name(name: &str) -> Result<(), String> {
    if !(3..=63).contains(&name.len()) {
        return Err("a bucket name has 3 to 63 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Err("a bucket name may hold only lowercase letters, digits, `.` and `-`".into());
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge_ok(name.chars().next()) || !edge_ok(name.chars().last()) {
        return Err("a bucket name starts and ends with a letter or digit".into());
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Err("a bucket name may not have `..`, `.-` or `-.`".into());
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err("a bucket name may not look like an IP address".into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err(format!("the prefix `{prefix}` is reserved by S3"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
        if name.ends_with(suffix) {
            return Err(format!("the suffix `{suffix}` is reserved by S3"));
        }
    }
    Ok(())
}

/// The bucket policy rampart writes: the TLS-only statement for `require_tls`, a grant to the
/// S3 logging service limited to the source buckets of `log_delivery_from`, and CloudTrail's
/// two grants for the trails of `cloudtrail_delivery_from` (in `account`). `None` when none
/// applies and the bucket should have no policy.
fn bucket_policy(bucket: &str, desired: &Attrs, account: &str) -> Option<Value> {
    let log_sources = names(desired.get("log_delivery_from"));
    let trails = names(desired.get("cloudtrail_delivery_from"));
    let mut statements = Vec::new();
    if bool_attr(desired, "require_tls") {
        statements.push(json!({
            "Sid": TLS_STATEMENT_ID,
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }));
    }
    if !log_sources.is_empty() {
        let arns: Vec<String> = log_sources
            .iter()
            .map(|s| format!("arn:aws:s3:::{s}"))
            .collect();
        statements.push(json!({
            "Sid": LOG_STATEMENT_ID,
            "Effect": "Allow",
            "Principal": {"Service": LOGGING_SERVICE},
            "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
            "Condition": {"ArnLike": {"aws:SourceArn": arns}}
        }));
    }
    if !trails.is_empty() {
        let arns = cloudtrail::trail_arns(account, &trails);
        statements.push(json!({
            "Sid": "RampartCloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": cloudtrail::SERVICE},
            "Action": "s3:GetBucketAcl",
            "Resource": format!("arn:aws:s3:::{bucket}"),
            "Condition": {"ArnLike": {"aws:SourceArn": arns}}
        }));
        statements.push(json!({
            "Sid": "RampartCloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": cloudtrail::SERVICE},
            "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{bucket}/AWSLogs/{account}/*"),
            "Condition": {
                "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"},
                "ArnLike": {"aws:SourceArn": arns}
            }
        }));
    }
    if statements.is_empty() {
        return None;
    }
    Some(json!({"Version": "2012-10-17", "Statement": statements}))
}

/// The source buckets a policy lets the S3 logging service deliver access logs from.
fn log_sources_in(policy: &Value) -> Vec<String> {
    let statements = statements(policy);
    let mut sources: Vec<String> = statements
        .iter()
        .filter(|s| s["Effect"] == "Allow" && s["Principal"]["Service"] == LOGGING_SERVICE)
        .flat_map(|s| match &s["Condition"]["ArnLike"]["aws:SourceArn"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        })
        .filter_map(|arn| arn.strip_prefix("arn:aws:s3:::").map(String::from))
        .collect();
    sources.sort();
    sources.dedup();
    sources
}

/// A policy's statements: IAM allows one statement object in place of a list.
fn statements(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Whether a policy document denies every request made without TLS.
fn denies_insecure_transport(policy: &Value) -> bool {
    let statements = statements(policy);
    let one_of = |v: &Value, wanted: &str| match v {
        Value::String(s) => s == wanted,
        Value::Array(a) => a.iter().any(|x| x.as_str() == Some(wanted)),
        _ => false,
    };
    statements.iter().any(|s| {
        let principal_all = s["Principal"] == json!("*") || one_of(&s["Principal"]["AWS"], "*");
        s["Effect"] == "Deny"
            && principal_all
            && (one_of(&s["Action"], "s3:*") || one_of(&s["Action"], "*"))
            && one_of(&s["Condition"]["Bool"]["aws:SecureTransport"], "false")
    })
}

fn sdk_build(operation: &'static str) -> impl FnOnce(aws_sdk_s3::error::BuildError) -> Failure {
    move |e| Failure::new(operation, e.to_string())
}

impl S3Bucket {
    /// Sets one managed attribute on the bucket; shared by create and update.
    async fn apply_attr(
        &self,
        ctx: &Ctx<'_>,
        bucket: &str,
        name: &str,
        desired: &Attrs,
    ) -> Result<(), Failure> {
        let s3 = ctx.aws.s3(ctx.region);
        match name {
            "block_public_access" => {
                let on = bool_attr(desired, name);
                s3.put_public_access_block()
                    .bucket(bucket)
                    .public_access_block_configuration(
                        PublicAccessBlockConfiguration::builder()
                            .block_public_acls(on)
                            .ignore_public_acls(on)
                            .block_public_policy(on)
                            .restrict_public_buckets(on)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(Failure::sdk("PutPublicAccessBlock"))?;
            }
            "kms_key" => {
                // No key means SSE-S3: a bucket is never left without default encryption.
                let key = str_attr(desired, name);
                let by_default = match key {
                    "" => ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256),
                    key => ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::AwsKms)
                        .kms_master_key_id(key),
                }
                .build()
                .map_err(sdk_build("PutBucketEncryption"))?;
                let config = ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(by_default)
                            .bucket_key_enabled(!key.is_empty())
                            .build(),
                    )
                    .build()
                    .map_err(sdk_build("PutBucketEncryption"))?;
                s3.put_bucket_encryption()
                    .bucket(bucket)
                    .server_side_encryption_configuration(config)
                    .send()
                    .await
                    .map_err(Failure::sdk("PutBucketEncryption"))?;
            }
            "versioning" => {
                let status = if bool_attr(desired, name) {
                    BucketVersioningStatus::Enabled
                } else {
                    BucketVersioningStatus::Suspended
                };
                s3.put_bucket_versioning()
                    .bucket(bucket)
                    .versioning_configuration(
                        VersioningConfiguration::builder().status(status).build(),
                    )
                    .send()
                    .await
                    .map_err(Failure::sdk("PutBucketVersioning"))?;
            }
            "require_tls" | "log_delivery_from" | "cloudtrail_delivery_from" => {
                // CloudTrail's grants name the account; ask STS only when there are any.
                let account = match names(desired.get("cloudtrail_delivery_from")).is_empty() {
                    true => String::new(),
                    false => ctx
                        .aws
                        .account_id()
                        .await
                        .map_err(|e| Failure::new("PutBucketPolicy", e.to_string()))?,
                };
                let policy = bucket_policy(bucket, desired, &account);
                match policy {
                    Some(policy) => {
                        s3.put_bucket_policy()
                            .bucket(bucket)
                            .policy(policy.to_string())
                            .send()
                            .await
                            .map_err(Failure::sdk("PutBucketPolicy"))?;
                    }
                    None => {
                        s3.delete_bucket_policy()
                            .bucket(bucket)
                            .send()
                            .await
                            .map_err(Failure::sdk("DeleteBucketPolicy"))?;
                    }
                }
            }
            "object_lock" => {
                // Removing object lock is a replacement, never an update: nothing to unset.
                let Some(lock) = desired.get(name).filter(|l| !l.is_null()) else {
                    return Ok(());
                };
                let rule = ObjectLockRule::builder()
                    .default_retention(
                        DefaultRetention::builder()
                            .mode(ObjectLockRetentionMode::from(
                                lock["mode"].as_str().unwrap_or("COMPLIANCE"),
                            ))
                            .days(days(&lock["retention_days"], "PutObjectLockConfiguration")?)
                            .build(),
                    )
                    .build();
                s3.put_object_lock_configuration()
                    .bucket(bucket)
                    .object_lock_configuration(
                        ObjectLockConfiguration::builder()
                            .object_lock_enabled(ObjectLockEnabled::Enabled)
                            .rule(rule)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(Failure::sdk("PutObjectLockConfiguration"))?;
            }
            "access_logs" => {
                let target = match str_attr(desired, name) {
                    // Unset: an empty logging status turns server access logging off.
                    "" => None,
                    target => Some(
                        LoggingEnabled::builder()
                            .target_bucket(target)
                            .target_prefix(format!("{bucket}/"))
                            .build()
                            .map_err(sdk_build("PutBucketLogging"))?,
                    ),
                };
                s3.put_bucket_logging()
                    .bucket(bucket)
                    .bucket_logging_status(
                        BucketLoggingStatus::builder()
                            .set_logging_enabled(target)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(Failure::sdk("PutBucketLogging"))?;
            }
            "lifecycle" => {
                let Some(lifecycle) = desired.get(name).filter(|l| !l.is_null()) else {
                    s3.delete_bucket_lifecycle()
                        .bucket(bucket)
                        .send()
                        .await
                        .map_err(Failure::sdk("DeleteBucketLifecycle"))?;
                    return Ok(());
                };
                let days = days(
                    &lifecycle["noncurrent_expiration_days"],
                    "PutBucketLifecycleConfiguration",
                )?;
                let rule = LifecycleRule::builder()
                    .id(LIFECYCLE_RULE_ID)
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix("").build())
                    .noncurrent_version_expiration(
                        NoncurrentVersionExpiration::builder()
                            .noncurrent_days(days)
                            .build(),
                    )
                    .build()
                    .map_err(sdk_build("PutBucketLifecycleConfiguration"))?;
                s3.put_bucket_lifecycle_configuration()
                    .bucket(bucket)
                    .lifecycle_configuration(
                        BucketLifecycleConfiguration::builder()
                            .rules(rule)
                            .build()
                            .map_err(sdk_build("PutBucketLifecycleConfiguration"))?,
                    )
                    .send()
                    .await
                    .map_err(Failure::sdk("PutBucketLifecycleConfiguration"))?;
            }
            "tags" => {
                let tag_set = tags(desired)
                    .into_iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(sdk_build("PutBucketTagging"))?;
                s3.put_bucket_tagging()
                    .bucket(bucket)
                    .tagging(
                        Tagging::builder()
                            .set_tag_set(Some(tag_set))
                            .build()
                            .map_err(sdk_build("PutBucketTagging"))?,
                    )
                    .send()
                    .await
                    .map_err(Failure::sdk("PutBucketTagging"))?;
            }
            // `name` forces replacement and is never changed in place.
            _ => {}
        }
        Ok(())
    }

    /// Deletes every object version and delete marker, a page at a time.
    async fn empty(&self, ctx: &Ctx<'_>, bucket: &str) -> Result<(), Failure> {
        let s3 = ctx.aws.s3(ctx.region);
        loop {
            let page = s3
                .list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .map_err(Failure::sdk("ListObjectVersions"))?;
            let mut ids = Vec::new();
            for v in page.versions() {
                ids.push((v.key().unwrap_or_default(), v.version_id()));
            }
            for m in page.delete_markers() {
                ids.push((m.key().unwrap_or_default(), m.version_id()));
            }
            if ids.is_empty() {
                return Ok(());
            }
            let objects = ids
                .into_iter()
                .map(|(k, v)| {
                    ObjectIdentifier::builder()
                        .key(k)
                        .set_version_id(v.map(String::from))
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(sdk_build("DeleteObjects"))?;
            let out = s3
                .delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .map_err(sdk_build("DeleteObjects"))?,
                )
                .send()
                .await
                .map_err(Failure::sdk("DeleteObjects"))?;
            // DeleteObjects answers 200 even when objects stay; listing them again would
            // loop for ever, so the first refusal ends the deletion.
            if let Some(refused) = out.errors().first() {
                return Err(Failure::new(
                    "DeleteObjects",
                    format!(
                        "{} object version(s) could not be deleted, e.g. `{}`: {}: {}",
                        out.errors().len(),
                        refused.key().unwrap_or("?"),
                        refused.code().unwrap_or("?"),
                        refused.message().unwrap_or("")
                    ),
                ));
            }
        }
    }
}

/// A day count from a (possibly hand-edited) plan, checked instead of truncated.
fn days(value: &Value, operation: &'static str) -> Result<i32, Failure> {
    value
        .as_i64()
        .and_then(|d| i32::try_from(d).ok())
        .filter(|d| *d > 0)
        .ok_or_else(|| Failure::new(operation, format!("invalid number of days: {value}")))
}

/// Whether a read failed because the bucket does not exist.
fn gone<E: aws_sdk_s3::error::ProvideErrorMetadata, R>(
    result: &Result<impl Sized, aws_sdk_s3::error::SdkError<E, R>>,
) -> bool {
    matches!(result, Err(e) if error_code(e) == Some("NoSuchBucket"))
}

/// Turns "no such configuration" answers into `None`.
fn optional<T, E, R>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, R>>,
    operation: &'static str,
    absent: &[&str],
) -> Result<Option<T>, Failure>
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if error_code(&e).is_some_and(|c| absent.contains(&c)) => Ok(None),
        Err(e) => Err(Failure::sdk(operation)(e)),
    }
}

/// The region a bucket's location constraint names: none is us-east-1, and `EU` is the old
/// name of eu-west-1.
fn location_region(constraint: Option<&BucketLocationConstraint>) -> String {
    match constraint.map(|c| c.as_str()) {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(region) => region.into(),
    }
}

#[async_trait]
impl ResourceKind for S3Bucket {
    fn name(&self) -> &'static str {
        "s3_bucket"
    }

    fn schema(&self) -> &'static [Field] {
        SCHEMA
    }

    fn validate(
        &self,
        resource: &Resource,
        blueprint: &Referrers,
    ) -> Vec<(&'static str, String, String)> {
        let attrs = &resource.attrs;
        let mut problems = Vec::new();
        let log_sources: Vec<&str> = blueprint
            .to("s3_bucket", "access_logs", &resource.address)
            .iter()
            .map(|r| r.address.as_str())
            .collect();
        if !log_sources.is_empty() && attrs.get("kms_key").is_some_and(Value::is_string) {
            problems.push((
                "kms_key",
                format!(
                    "S3 delivers server access logs (here from {}) only to buckets encrypted with SSE-S3, not SSE-KMS",
                    log_sources.join(", ")
                ),
                "remove `kms_key` from this bucket: it then gets SSE-S3 default encryption".to_string(),
            ));
        }
        if attrs.contains_key("object_lock") && !bool_attr(attrs, "versioning") {
            problems.push((
                "versioning",
                "object lock needs versioning".to_string(),
                "remove `versioning = false`, or remove `object_lock`".to_string(),
            ));
        }
        problems
    }

    fn reference(&self, recorded: &Recorded) -> Value {
        Value::String(recorded.id.clone())
    }

    fn planned_reference(&self, desired: &Attrs) -> Option<Value> {
        desired.get("name").cloned()
    }

    /// A bucket that receives access logs grants the S3 logging service write access for
    /// exactly the buckets that name it in `access_logs`.
    fn derive(&self, address: &str, referrers: &Referrers) -> Attrs {
        let sources = referrers.of("s3_bucket", "access_logs", address);
        let trails = referrers.of("cloudtrail", "bucket", address);
        Attrs::from([
            ("log_delivery_from".to_string(), Value::from(sources)),
            ("cloudtrail_delivery_from".to_string(), Value::from(trails)),
        ])
    }

    /// One refresh: every call at once, none needs another's answer. Always GetBucketEncryption
    /// (`kms_key`), GetBucketVersioning (`versioning`), GetPublicAccessBlock
    /// (`block_public_access`), GetBucketPolicy (`require_tls`, `log_delivery_from`,
    /// `cloudtrail_delivery_from`) and GetBucketTagging (`tags`); GetObjectLockConfiguration
    /// (`object_lock`), GetBucketLogging (`access_logs`) and GetBucketLifecycleConfiguration
    /// (`lifecycle`) only when the blueprint or the state has that field. `NoSuchBucket` from any
    /// of the first five means the bucket is gone; `name` is the recorded id. 5 calls, up to 8.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let s3 = ctx.aws.s3(ctx.region);
        let b = recorded.id.as_str();
        let managed = |name: &str| manages(recorded, desired, name);
        let (want_lock, want_logs, want_lifecycle) = (
            managed("object_lock"),
            managed("access_logs"),
            managed("lifecycle"),
        );
        let (enc, ver, pab, pol, tag, lock, logs, life) = tokio::join!(
            s3.get_bucket_encryption().bucket(b).send(),
            s3.get_bucket_versioning().bucket(b).send(),
            s3.get_public_access_block().bucket(b).send(),
            s3.get_bucket_policy().bucket(b).send(),
            s3.get_bucket_tagging().bucket(b).send(),
            async {
                match want_lock {
                    true => Some(s3.get_object_lock_configuration().bucket(b).send().await),
                    false => None,
                }
            },
            async {
                match want_logs {
                    true => Some(s3.get_bucket_logging().bucket(b).send().await),
                    false => None,
                }
            },
            async {
                match want_lifecycle {
                    true => Some(
                        s3.get_bucket_lifecycle_configuration()
                            .bucket(b)
                            .send()
                            .await,
                    ),
                    false => None,
                }
            },
        );
        if gone(&enc) || gone(&ver) || gone(&pab) || gone(&pol) || gone(&tag) {
            return Ok(None);
        }
        let mut attrs = Attrs::new();
        attrs.insert("name", Value::String(b.to_string()));

        let enc = optional(
            enc,
            "GetBucketEncryption",
            &["ServerSideEncryptionConfigurationNotFoundError"],
        )?;
        let kms_key = enc
            .as_ref()
            .and_then(|e| e.server_side_encryption_configuration())
            .and_then(|c| c.rules().first())
            .map(|rule| {
                let default = rule.apply_server_side_encryption_by_default();
                let algorithm = default.map(|d| d.sse_algorithm().as_str()).unwrap_or("");
                let key = default.and_then(|d| d.kms_master_key_id()).unwrap_or("");
                match (algorithm, rule.bucket_key_enabled() == Some(true)) {
                    ("aws:kms", true) => Value::String(key.to_string()),
                    ("aws:kms", false) => Value::String(format!("{key} (bucket key disabled)")),
                    // SSE-S3 is what a bucket without `kms_key` asks for.
                    ("AES256", _) => Value::Null,
                    (other, _) => Value::String(format!("{other} (not SSE-KMS)")),
                }
            })
            .unwrap_or_else(|| Value::String("none (unencrypted)".into()));
        attrs.insert("kms_key", kms_key);

        let ver = ver.map_err(Failure::sdk("GetBucketVersioning"))?;
        attrs.insert(
            "versioning",
            Value::Bool(ver.status() == Some(&BucketVersioningStatus::Enabled)),
        );

        let pab = optional(
            pab,
            "GetPublicAccessBlock",
            &["NoSuchPublicAccessBlockConfiguration"],
        )?;
        let all_blocked = pab
            .as_ref()
            .and_then(|p| p.public_access_block_configuration())
            .is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            });
        attrs.insert("block_public_access", Value::Bool(all_blocked));

        let pol = optional(pol, "GetBucketPolicy", &["NoSuchBucketPolicy"])?;
        let doc = pol
            .as_ref()
            .and_then(|p| p.policy())
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .unwrap_or(Value::Null);
        attrs.insert("require_tls", Value::Bool(denies_insecure_transport(&doc)));
        attrs.insert("log_delivery_from", Value::from(log_sources_in(&doc)));
        attrs.insert(
            "cloudtrail_delivery_from",
            Value::from(cloudtrail::granted_trails(&statements(&doc))),
        );

        let tag = optional(tag, "GetBucketTagging", &["NoSuchTagSet"])?;
        attrs.insert(
            "tags",
            super::tags_value(
                tag.as_ref()
                    .map(|t| t.tag_set())
                    .unwrap_or_default()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string())),
            ),
        );

        if let Some(lock) = lock {
            let lock = optional(
                lock,
                "GetObjectLockConfiguration",
                &["ObjectLockConfigurationNotFoundError"],
            )?;
            let value = lock
                .as_ref()
                .and_then(|l| l.object_lock_configuration())
                .filter(|c| c.object_lock_enabled() == Some(&ObjectLockEnabled::Enabled))
                .map(|c| {
                    let retention = c.rule().and_then(|r| r.default_retention());
                    json!({
                        "mode": retention.and_then(|r| r.mode()).map(|m| m.as_str()),
                        "retention_days": retention.and_then(|r| r.days()),
                    })
                })
                .unwrap_or(Value::Null);
            attrs.insert("object_lock", value);
        }
        if let Some(logs) = logs {
            let logs = logs.map_err(Failure::sdk("GetBucketLogging"))?;
            let target = logs.logging_enabled().map_or(Value::Null, |l| {
                Value::String(l.target_bucket().to_string())
            });
            attrs.insert("access_logs", target);
        }
        if let Some(life) = life {
            let life = optional(
                life,
                "GetBucketLifecycleConfiguration",
                &["NoSuchLifecycleConfiguration"],
            )?;
            let value = life
                .as_ref()
                .and_then(|l| {
                    l.rules().iter().find(|r| {
                        r.id() == Some(LIFECYCLE_RULE_ID)
                            && r.status() == &ExpirationStatus::Enabled
                    })
                })
                .and_then(|r| r.noncurrent_version_expiration())
                .and_then(|e| e.noncurrent_days())
                .map_or(Value::Null, |d| json!({ "noncurrent_expiration_days": d }));
            attrs.insert("lifecycle", value);
        }
        Ok(Some(attrs))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        let s3 = ctx.aws.s3(ctx.region);
        let bucket = str_attr(desired, "name");
        let mut req = s3
            .create_bucket()
            .bucket(bucket)
            .object_lock_enabled_for_bucket(desired.contains_key("object_lock"));
        // us-east-1 is the one region that takes no location constraint.
        if ctx.region != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(ctx.region))
                    .build(),
            );
        }
        req.send().await.map_err(Failure::sdk("CreateBucket"))?;
        Ok(Created {
            id: bucket.to_string(),
            arn: Some(format!("arn:aws:s3:::{bucket}")),
            set: &["name"],
        })
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        _before: &Attrs,
        desired: &Attrs,
        changed: &[String],
    ) -> Result<(), Failure> {
        let mut policy_done = false;
        for name in changed {
            // Both policy attributes are written by one PutBucketPolicy.
            if POLICY_ATTRS.contains(&name.as_str()) {
                if policy_done {
                    continue;
                }
                policy_done = true;
            }
            self.apply_attr(ctx, &recorded.id, name, desired).await?;
        }
        Ok(())
    }

    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
        // Listing is global; where a bucket lives comes with it, or from its location.
        let s3 = aws.s3("us-east-1");
        let buckets = s3
            .list_buckets()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(Failure::sdk("ListBuckets"))?;
        let located = futures::stream::iter(buckets)
            .map(|b| {
                let s3 = &s3;
                async move {
                    let name = b.name()?.to_string();
                    let region = match b.bucket_region() {
                        Some(r) => Ok(r.to_string()),
                        None => match s3.get_bucket_location().bucket(&name).send().await {
                            Ok(out) => Ok(location_region(out.location_constraint())),
                            Err(e) if error_code(&e) == Some("NoSuchBucket") => return None,
                            Err(e) => Err(Failure::sdk("GetBucketLocation")(e)),
                        },
                    };
                    Some(region.map(|region| Discovered {
                        arn: Some(format!("arn:aws:s3:::{name}")),
                        id: name,
                        region,
                    }))
                }
            })
            .buffer_unordered(16)
            .filter_map(|found| async move { found })
            .collect::<Vec<_>>()
            .await;
        let mut found = Vec::new();
        for d in located {
            let d = d?;
            if regions.contains(&d.region) {
                found.push(d);
            }
        }
        Ok(found)
    }

    fn read_access(&self) -> ReadAccess {
        ReadAccess {
            read: &[
                "s3:GetEncryptionConfiguration",
                "s3:GetBucketVersioning",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetBucketPolicy",
                "s3:GetBucketTagging",
                "s3:GetBucketObjectLockConfiguration",
                "s3:GetBucketLogging",
                "s3:GetLifecycleConfiguration",
            ],
            arns: &["arn:aws:s3:::{name}"],
            any: &[],
            list: &["s3:ListAllMyBuckets", "s3:GetBucketLocation"],
        }
    }

    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure> {
        let s3 = ctx.aws.s3(ctx.region);
        match self.empty(ctx, &recorded.id).await {
            Err(f) if f.message.starts_with("NoSuchBucket") => return Ok(()),
            other => other?,
        }
        match s3.delete_bucket().bucket(&recorded.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(()),
            Err(e) => Err(Failure::sdk("DeleteBucket")(e)),
        }
    }

    /// One ListObjectVersions call: a bucket holding objects is emptied by its deletion, and
    /// one with object lock cannot be.
    async fn deletion_check(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
    ) -> Result<DeletionCheck, Failure> {
        let page = match ctx
            .aws
            .s3(ctx.region)
            .list_object_versions()
            .bucket(&recorded.id)
            .max_keys(1)
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) if error_code(&e) == Some("NoSuchBucket") => return Ok(DeletionCheck::default()),
            Err(e) => return Err(Failure::sdk("ListObjectVersions")(e)),
        };
        if page.versions().is_empty() && page.delete_markers().is_empty() {
            return Ok(DeletionCheck::default());
        }
        let lock = recorded
            .attributes
            .get("object_lock")
            .filter(|l| !l.is_null());
        Ok(match lock {
            Some(lock) => DeletionCheck {
                blocker: Some(format!(
                    "bucket `{}` has object lock ({} mode, {} days) and holds objects; rampart never deletes locked objects. Once their retention has passed (in COMPLIANCE mode nobody can shorten it), delete them yourself and plan again",
                    recorded.id,
                    lock["mode"].as_str().unwrap_or("?"),
                    lock["retention_days"]
                )),
                warning: None,
            },
            None => DeletionCheck {
                blocker: None,
                warning: Some(format!(
                    "bucket `{}` holds objects: deleting it deletes every object version in it",
                    recorded.id
                )),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(check_bucket_name("acme-data-raw").is_ok());
        assert!(check_bucket_name("my.bucket.1").is_ok());
        for bad in [
            "ab",
            "Upper-case",
            "-leading",
            "trailing-",
            "a..b",
            "192.168.1.1",
            "xn--bucket",
            "bucket-s3alias",
            "under_score",
        ] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_tls_policy_is_recognised_in_every_spelling() {
        assert!(denies_insecure_transport(
            &bucket_policy("b", &policy_attrs(true, &[], &[]), "1").unwrap()
        ));
        let plain = json!({"Statement": {"Effect": "Deny", "Principal": "*", "Action": ["s3:*"],
            "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}});
        assert!(denies_insecure_transport(&plain));
        let allow = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]});
        assert!(!denies_insecure_transport(&allow));
        assert!(!denies_insecure_transport(&json!({})));
    }

    fn policy_attrs(tls: bool, sources: &[&str], trails: &[&str]) -> Attrs {
        Attrs::from([
            ("require_tls".to_string(), Value::Bool(tls)),
            ("log_delivery_from".to_string(), json!(sources)),
            ("cloudtrail_delivery_from".to_string(), json!(trails)),
        ])
    }

    #[test]
    fn the_policy_grants_log_delivery_to_exactly_the_sources() {
        let policy =
            bucket_policy("logs", &policy_attrs(true, &["raw", "processed"], &[]), "1").unwrap();
        assert_eq!(log_sources_in(&policy), vec!["processed", "raw"]);
        assert!(denies_insecure_transport(&policy));
        let plain = bucket_policy("logs", &policy_attrs(true, &[], &[]), "1").unwrap();
        assert_eq!(log_sources_in(&plain), Vec::<String>::new());
        assert!(bucket_policy("logs", &policy_attrs(false, &[], &[]), "1").is_none());
    }

    #[test]
    fn the_policy_grants_cloudtrail_for_exactly_its_trails() {
        let policy = bucket_policy(
            "audit",
            &policy_attrs(true, &[], &["org-trail"]),
            "123456789012",
        )
        .unwrap();
        assert_eq!(
            cloudtrail::granted_trails(&statements(&policy)),
            vec!["org-trail"]
        );
        let write = &policy["Statement"][2];
        assert_eq!(
            write["Resource"],
            "arn:aws:s3:::audit/AWSLogs/123456789012/*"
        );
        assert_eq!(
            write["Condition"]["StringEquals"]["s3:x-amz-acl"],
            "bucket-owner-full-control"
        );
    }
}
