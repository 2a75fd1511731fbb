//! `kms_key`: a symmetric customer-managed KMS key with rotation, an alias and a key policy.
//!
//! Refresh makes up to five calls, all concurrent after the first: DescribeKey (exists?
//! description), GetKeyRotationStatus (rotation and period), ListResourceTags (tags),
//! ListAliases only for a managed `alias`, and GetKeyPolicy only for a managed `policy` or
//! trail grants (see `read`).

use async_trait::async_trait;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::types::{KeyManagerType, KeySpec, KeyState, OriginType, Tag};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde_json::Value;

use super::{
    Created, Ctx, Discovered, Failure, ReadAccess, Referrers, ResourceKind, bool_attr, cloudtrail,
    error_code, in_regions, int_attr, manages, names, stale_tags, str_attr, tags, tags_value,
};
use crate::aws::Aws;
use crate::blueprint::Attrs;
use crate::blueprint::schema::{Control, Default, Field, Type};
use crate::state::Recorded;

pub struct KmsKey;

static SCHEMA: &[Field] = &[
    Field::optional("description", Type::Str(None), "what the key protects"),
    Field::optional("alias", Type::Str(Some(check_alias)), "`alias/NAME`").unique(),
    Field::optional("rotation", Type::Bool, "automatic key rotation")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional(
        "rotation_period_days",
        Type::Int { min: 90, max: 2560 },
        "days between rotations",
    )
    .default(Default::Int(365))
    .control(Control::AtMost { secure: 365 }),
    Field::optional(
        "deletion_window_days",
        Type::Int { min: 7, max: 30 },
        "waiting period when the key is destroyed",
    )
    .default(Default::Int(30))
    .local(),
    Field::optional(
        "policy",
        Type::Json,
        "key policy; left out, KMS's default policy",
    )
    .control(Control::Grants),
    Field::optional("tags", Type::StrMap, "tags besides the blueprint's"),
    Field::optional(
        "cloudtrail_access",
        Type::StrList(None),
        "trails that encrypt their logs with this key",
    )
    .computed()
    .control(Control::Includes),
];

/// Statements rampart adds to a key policy carry this prefix, so refresh can tell them from
/// the blueprint's own `policy`.
const GRANT_PREFIX: &str = "RampartCloudTrail";

/// KMS's alias rules: `alias/` prefix, not `alias/aws/`, letters, digits, `/_-`, ≤ 256.
fn check_alias(alias: &str) -> Result<(), String> {
    let Some(name) = alias.strip_prefix("alias/") else {
        return Err("a key alias starts with `alias/`".into());
    };
    if name.is_empty() || alias.len() > 256 {
        return Err("a key alias has 1 to 250 characters after `alias/`".into());
    }
    if name.starts_with("aws/") {
        return Err("the `alias/aws/` prefix is reserved for AWS managed keys".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
    {
        return Err("a key alias may hold only letters, digits, `/`, `_` and `-`".into());
    }
    Ok(())
}

/// KMS's default key policy: the account administers the key through IAM.
fn default_policy(account: &str) -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
}

/// The key policy rampart writes: the blueprint's `policy` (else KMS's default), plus
/// CloudTrail's grants for the trails of `cloudtrail_access`. `None` when the blueprint sets
/// no policy and no trail uses the key: KMS's own default then applies.
fn key_policy(desired: &Attrs, account: &str) -> Option<Value> {
    let base = desired.get("policy").filter(|p| !p.is_null()).cloned();
    let trails = names(desired.get("cloudtrail_access"));
    if trails.is_empty() {
        return base;
    }
    let mut doc = base.unwrap_or_else(|| default_policy(account));
    let arns = cloudtrail::trail_arns(account, &trails);
    let grants = [
        serde_json::json!({
            "Sid": format!("{GRANT_PREFIX}Encrypt"),
            "Effect": "Allow",
            "Principal": {"Service": cloudtrail::SERVICE},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {
                "ArnLike": {"aws:SourceArn": arns.clone()},
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": arns}
            }
        }),
        serde_json::json!({
            "Sid": format!("{GRANT_PREFIX}DescribeKey"),
            "Effect": "Allow",
            "Principal": {"Service": cloudtrail::SERVICE},
            "Action": "kms:DescribeKey",
            "Resource": "*"
        }),
    ];
    match doc.get_mut("Statement") {
        Some(Value::Array(list)) => list.extend(grants),
        Some(one @ Value::Object(_)) => {
            let first = one.take();
            *one = Value::Array([first].into_iter().chain(grants).collect());
        }
        _ => doc["Statement"] = Value::Array(grants.to_vec()),
    }
    Some(doc)
}

/// Splits a key policy into the blueprint's part and the trails rampart granted.
fn split_policy(doc: Value) -> (Value, Vec<String>) {
    let mut doc = doc;
    let statements = match doc.get_mut("Statement").map(Value::take) {
        Some(Value::Array(list)) => list,
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let (ours, theirs): (Vec<Value>, Vec<Value>) = statements.into_iter().partition(|s| {
        s["Sid"]
            .as_str()
            .is_some_and(|sid| sid.starts_with(GRANT_PREFIX))
    });
    if doc.is_object() {
        doc["Statement"] = Value::Array(theirs);
    }
    (doc, cloudtrail::granted_trails(&ours))
}

fn kms_tags(attrs: &Attrs) -> Result<Vec<Tag>, Failure> {
    tags(attrs)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| Failure::new("TagResource", e.to_string()))
        })
        .collect()
}

impl KmsKey {
    async fn set_rotation(&self, ctx: &Ctx<'_>, id: &str, desired: &Attrs) -> Result<(), Failure> {
        let kms = ctx.aws.kms(ctx.region);
        if bool_attr(desired, "rotation") {
            let period = int_attr(desired, "rotation_period_days").unwrap_or(365);
            kms.enable_key_rotation()
                .key_id(id)
                .rotation_period_in_days(i32::try_from(period).unwrap_or(365))
                .send()
                .await
                .map_err(Failure::sdk("EnableKeyRotation"))?;
        } else {
            kms.disable_key_rotation()
                .key_id(id)
                .send()
                .await
                .map_err(Failure::sdk("DisableKeyRotation"))?;
        }
        Ok(())
    }

    async fn create_alias(&self, ctx: &Ctx<'_>, id: &str, alias: &str) -> Result<(), Failure> {
        ctx.aws
            .kms(ctx.region)
            .create_alias()
            .alias_name(alias)
            .target_key_id(id)
            .send()
            .await
            .map_err(Failure::sdk("CreateAlias"))?;
        Ok(())
    }
}

/// Attempts of a CreateKey, as the SDK makes of other calls.
const CREATE_ATTEMPTS: u32 = 5;

/// Whether a failed call may succeed if made again: no answer (a timeout, a reset), or AWS
/// answering 5xx or "slow down".
fn transient<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => e.raw().status().as_u16() >= 500 || throttled(err),
        _ => false,
    }
}

/// Whether AWS answered "slow down": the call was refused, nothing was made.
fn throttled<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    err.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|c| crate::aws::traffic::THROTTLING_CODES.contains(&c))
}

/// Exponential back-off with full jitter, as the SDK's standard retries: a random wait up to
/// 1 s, 2 s, 4 s, ... (at most 20 s) before the second, third, fourth attempt.
fn backoff(attempt: u32) -> std::time::Duration {
    let cap = (1000u64 << (attempt - 1).min(5)).min(20_000);
    let random = (uuid::Uuid::new_v4().as_u128() % u128::from(cap)) as u64;
    std::time::Duration::from_millis(random)
}

/// Which customer keys a listing wants.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// Keys in use: what `drift --unmanaged` and `audit` read.
    Live,
    /// Keys scheduled for deletion: everything they encrypt is about to become unreadable.
    PendingDeletion,
}

async fn customer_keys(
    aws: &Aws,
    regions: &[String],
    listing: Listing,
) -> Result<Vec<Discovered>, Failure> {
    in_regions(regions, |region| async move {
        let kms = aws.kms(region);
        let keys = kms
            .list_keys()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(Failure::sdk("ListKeys"))?;
        let mut found = Vec::new();
        for key in keys {
            let Some(id) = key.key_id() else { continue };
            let listed = Discovered {
                id: id.to_string(),
                arn: key.key_arn().map(String::from),
                region: region.to_string(),
            };
            // A key whose policy keeps this caller out is listed anyway: its read then
            // fails, and the report says so, instead of the key going unseen.
            let Ok(out) = kms.describe_key().key_id(id).send().await else {
                if listing == Listing::Live {
                    found.push(listed);
                }
                continue;
            };
            let Some(meta) = out.key_metadata() else {
                continue;
            };
            let leaving = matches!(
                meta.key_state(),
                Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
            );
            // rampart's kind: symmetric keys with KMS-made material (others cannot rotate).
            let kind = meta.key_spec() == Some(&KeySpec::SymmetricDefault)
                && meta.origin() == Some(&OriginType::AwsKms);
            // AWS managed keys (`aws/s3`) are nobody's to manage.
            let wanted = match listing {
                Listing::Live => !leaving && kind,
                Listing::PendingDeletion => leaving,
            };
            if meta.key_manager() == Some(&KeyManagerType::Customer) && wanted {
                found.push(listed);
            }
        }
        Ok(found)
    })
    .await
}

/// Customer keys scheduled for deletion in `regions` (for `audit`: FSBP KMS.3).
pub async fn pending_deletion(aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
    customer_keys(aws, regions, Listing::PendingDeletion).await
}

#[async_trait]
impl ResourceKind for KmsKey {
    fn name(&self) -> &'static str {
        "kms_key"
    }

    fn schema(&self) -> &'static [Field] {
        SCHEMA
    }

    /// A key that trails encrypt with grants CloudTrail exactly that, for exactly them.
    fn derive(&self, address: &str, referrers: &Referrers) -> Attrs {
        let trails = referrers.of("cloudtrail", "kms_key", address);
        Attrs::from([("cloudtrail_access".to_string(), Value::from(trails))])
    }

    /// One refresh: DescribeKey first (does the key exist, is it pending deletion; `description`),
    /// then concurrently GetKeyRotationStatus (`rotation`, `rotation_period_days`),
    /// ListResourceTags (`tags`), ListAliases (`alias`) only when the blueprint or the state has
    /// an alias, and GetKeyPolicy (`policy`, `cloudtrail_access`) only when the blueprint or the
    /// state has a `policy` or names trails in `cloudtrail_access` (derived, so refresh sees it
    /// only in the state: it passes the blueprint's own attributes). The others wait for
    /// DescribeKey: a key that is gone or pending deletion is read no further. 4 calls with an
    /// alias, 5 with the policy too. `deletion_window_days` is local and never read.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let kms = ctx.aws.kms(ctx.region);
        let id = recorded.id.as_str();
        let described = match kms.describe_key().key_id(id).send().await {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("NotFoundException") => return Ok(None),
            Err(e) => return Err(Failure::sdk("DescribeKey")(e)),
        };
        let Some(meta) = described.key_metadata() else {
            return Ok(None);
        };
        // A key scheduled for deletion is as good as gone: it cannot be used any more.
        if matches!(
            meta.key_state(),
            Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
        ) {
            return Ok(None);
        }
        let grants = |attrs: &Attrs| !names(attrs.get("cloudtrail_access")).is_empty();
        let wants_policy = manages(recorded, desired, "policy")
            || desired.is_some_and(grants)
            || grants(&recorded.attributes);
        let wants_alias = manages(recorded, desired, "alias");
        let (rotation, aliases, tag_list, policy) = tokio::join!(
            kms.get_key_rotation_status().key_id(id).send(),
            async {
                match wants_alias {
                    true => Some(kms.list_aliases().key_id(id).send().await),
                    false => None,
                }
            },
            kms.list_resource_tags().key_id(id).send(),
            async {
                if wants_policy {
                    Some(
                        kms.get_key_policy()
                            .key_id(id)
                            .policy_name("default")
                            .send()
                            .await,
                    )
                } else {
                    None
                }
            }
        );
        let rotation = rotation.map_err(Failure::sdk("GetKeyRotationStatus"))?;
        let aliases = aliases.transpose().map_err(Failure::sdk("ListAliases"))?;
        let tag_list = tag_list.map_err(Failure::sdk("ListResourceTags"))?;

        let mut attrs = Attrs::new();
        attrs.insert(
            "description",
            Value::String(meta.description().unwrap_or("").to_string()),
        );
        attrs.insert("rotation", Value::Bool(rotation.key_rotation_enabled()));
        // Some endpoints (the emulator) do not report the period; the planner then keeps
        // the recorded value instead of showing a false difference.
        if let Some(days) = rotation.rotation_period_in_days() {
            attrs.insert("rotation_period_days", Value::from(days));
        }
        let wanted_alias = desired
            .map(|d| str_attr(d, "alias"))
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| str_attr(&recorded.attributes, "alias"));
        if let Some(aliases) = aliases {
            let names: Vec<&str> = aliases
                .aliases()
                .iter()
                .filter_map(|a| a.alias_name())
                .collect();
            let alias = if names.contains(&wanted_alias) {
                Value::String(wanted_alias.to_string())
            } else {
                names
                    .first()
                    .map_or(Value::Null, |a| Value::String(a.to_string()))
            };
            attrs.insert("alias", alias);
        }
        attrs.insert(
            "tags",
            tags_value(
                tag_list
                    .tags()
                    .iter()
                    .map(|t| (t.tag_key().to_string(), t.tag_value().to_string())),
            ),
        );
        if let Some(policy) = policy {
            let policy = policy.map_err(Failure::sdk("GetKeyPolicy"))?;
            let doc = policy
                .policy()
                .and_then(|p| serde_json::from_str(p).ok())
                .unwrap_or(Value::Null);
            let (own, trails) = split_policy(doc);
            attrs.insert("policy", own);
            attrs.insert("cloudtrail_access", Value::from(trails));
        }
        Ok(Some(attrs))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        let kms = ctx.aws.kms(ctx.region);
        let mut req = kms
            .create_key()
            .description(str_attr(desired, "description"))
            .set_tags(Some(kms_tags(desired)?));
        // CloudTrail's grants name the account; ask STS only when a trail uses the key.
        let account = match names(desired.get("cloudtrail_access")).is_empty() {
            true => String::new(),
            false => ctx
                .aws
                .account_id()
                .await
                .map_err(|e| Failure::new("CreateKey", e.to_string()))?,
        };
        if let Some(policy) = key_policy(desired, &account) {
            req = req.policy(policy.to_string());
        }
        const SET: &[&str] = &["description", "policy", "cloudtrail_access", "tags"];
        // CreateKey takes no idempotency token: the SDK's own retry of a call whose answer was
        // lost would make a second key. So the SDK does not retry it; before each retry here,
        // the key the last attempt may have made is looked for by its rampart tags.
        let once = aws_sdk_kms::config::Builder::new()
            .retry_config(aws_config::retry::RetryConfig::disabled());
        let blueprint = desired
            .get("tags")
            .and_then(|t| t.get("rampart:blueprint"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut attempt = 1;
        // Whether an attempt may have made a key unseen: then a final failure is ambiguous,
        // and the journal keeps the create for the next run to look for.
        let mut maybe_made = false;
        let out = loop {
            let err = match req
                .clone()
                .customize()
                .config_override(once.clone())
                .send()
                .await
            {
                Ok(out) => break out,
                Err(e) => e,
            };
            // A throttled call made nothing; one without an answer, or a 5xx, may have.
            maybe_made |= transient(&err) && !throttled(&err);
            if attempt == CREATE_ATTEMPTS || !transient(&err) {
                let failure = Failure::sdk("CreateKey")(err);
                return Err(Failure {
                    ambiguous: failure.ambiguous || maybe_made,
                    ..failure
                });
            }
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
            // A lookup that fails leaves the create open for the next run to look again.
            let ambiguous = |f: Failure| Failure {
                ambiguous: true,
                ..f
            };
            if maybe_made
                && let Some((id, arn)) = super::find_created(self, ctx, desired, blueprint)
                    .await
                    .map_err(ambiguous)?
            {
                tracing::debug!(address = ctx.address, %id, "CreateKey's lost answer: adopting the key it made");
                return Ok(Created { id, arn, set: SET });
            }
        };
        let meta = out
            .key_metadata()
            .ok_or_else(|| Failure::new("CreateKey", "the answer has no key metadata"))?;
        Ok(Created {
            id: meta.key_id().to_string(),
            arn: meta.arn().map(String::from),
            set: SET,
        })
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        before: &Attrs,
        desired: &Attrs,
        changed: &[String],
    ) -> Result<(), Failure> {
        let kms = ctx.aws.kms(ctx.region);
        let id = recorded.id.as_str();
        let changed = |name: &str| changed.iter().any(|c| c == name);
        if changed("description") {
            kms.update_key_description()
                .key_id(id)
                .description(str_attr(desired, "description"))
                .send()
                .await
                .map_err(Failure::sdk("UpdateKeyDescription"))?;
        }
        if changed("rotation") || changed("rotation_period_days") {
            self.set_rotation(ctx, id, desired).await?;
        }
        if changed("alias") {
            // An alias cannot be renamed: make the new one, then drop the old one.
            let new = str_attr(desired, "alias");
            if !new.is_empty() {
                self.create_alias(ctx, id, new).await?;
            }
            let old = str_attr(before, "alias");
            if !old.is_empty() {
                kms.delete_alias()
                    .alias_name(old)
                    .send()
                    .await
                    .map_err(Failure::sdk("DeleteAlias"))?;
            }
        }
        if changed("policy") || changed("cloudtrail_access") {
            // The account is in the key's ARN. With no policy set and no trail, KMS's default
            // comes back (an unset policy).
            let account = recorded
                .arn
                .as_deref()
                .and_then(|a| a.split(':').nth(4))
                .unwrap_or("");
            let policy = key_policy(desired, account).unwrap_or_else(|| default_policy(account));
            kms.put_key_policy()
                .key_id(id)
                .policy_name("default")
                .policy(policy.to_string())
                .send()
                .await
                .map_err(Failure::sdk("PutKeyPolicy"))?;
        }
        if changed("tags") {
            let wanted = tags(desired);
            let stale = stale_tags(before, &wanted);
            if !stale.is_empty() {
                kms.untag_resource()
                    .key_id(id)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map_err(Failure::sdk("UntagResource"))?;
            }
            kms.tag_resource()
                .key_id(id)
                .set_tags(Some(kms_tags(desired)?))
                .send()
                .await
                .map_err(Failure::sdk("TagResource"))?;
        }
        Ok(())
    }

    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
        customer_keys(aws, regions, Listing::Live).await
    }

    fn read_access(&self) -> ReadAccess {
        ReadAccess {
            read: &[
                "kms:DescribeKey",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
            ],
            // Key ids are AWS's to choose: no name narrows the grant.
            arns: &["arn:aws:kms:{region}:{account}:key/*"],
            any: &["kms:ListAliases"],
            list: &["kms:ListKeys"],
        }
    }

    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure> {
        let kms = ctx.aws.kms(ctx.region);
        let alias = str_attr(&recorded.attributes, "alias");
        if !alias.is_empty() {
            match kms.delete_alias().alias_name(alias).send().await {
                Ok(_) => {}
                Err(e) if error_code(&e) == Some("NotFoundException") => {}
                Err(e) => return Err(Failure::sdk("DeleteAlias")(e)),
            }
        }
        // Never delete a key at once: data encrypted under it would be lost for good.
        let window = int_attr(&recorded.attributes, "deletion_window_days").unwrap_or(30);
        match kms
            .schedule_key_deletion()
            .key_id(&recorded.id)
            .pending_window_in_days(i32::try_from(window).unwrap_or(30))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    error_code(&e),
                    Some("NotFoundException" | "KMSInvalidStateException")
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(Failure::sdk("ScheduleKeyDeletion")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudtrail_grants_are_added_and_split_off_again() {
        let own = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "Admin", "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*", "Resource": "*"}]});
        let desired = Attrs::from([
            ("policy".to_string(), own.clone()),
            (
                "cloudtrail_access".to_string(),
                serde_json::json!(["org-trail"]),
            ),
        ]);
        let composed = key_policy(&desired, "1").unwrap();
        assert_eq!(composed["Statement"].as_array().unwrap().len(), 3);
        assert_eq!(split_policy(composed), (own, vec!["org-trail".to_string()]));
        // No policy and no trail: KMS keeps its own default.
        assert!(key_policy(&Attrs::new(), "1").is_none());
    }

    #[test]
    fn alias_rules_match_kms() {
        assert!(check_alias("alias/data-lake").is_ok());
        assert!(check_alias("data-lake").is_err());
        assert!(check_alias("alias/aws/s3").is_err());
        assert!(check_alias("alias/").is_err());
        assert!(check_alias("alias/has space").is_err());
    }
}
