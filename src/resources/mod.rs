//! Resource kinds: one file per kind behind [`ResourceKind`], listed in [`KINDS`].
//!
//! Only this module and `aws.rs` call the SDK. A kind reads the attributes it manages, creates,
//! updates and deletes; everything generic (parsing, diffing, ordering, state) is elsewhere.

mod account_public_access_block;
mod cloudtrail;
mod guardduty_detector;
mod iam_password_policy;
mod iam_role;
mod kms_key;
mod lambda_function;
mod rds_instance;
mod s3_bucket;
mod secret;

pub use cloudtrail::covering as trails_covering;
pub use kms_key::pending_deletion as keys_pending_deletion;
pub use rds_instance::is_default_admin;

use async_trait::async_trait;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use foldhash::{HashMap, HashMapExt};
use serde_json::Value;

use crate::aws::Aws;
use crate::blueprint::schema::{Field, Type};
use crate::blueprint::{Attrs, Resource};
use crate::state::Recorded;

/// Every kind rampart knows, in the order the README documents them.
pub static KINDS: &[&dyn ResourceKind] = &[
    &account_public_access_block::AccountPublicAccessBlock,
    &iam_password_policy::IamPasswordPolicy,
    &kms_key::KmsKey,
    &s3_bucket::S3Bucket,
    &cloudtrail::CloudTrail,
    &guardduty_detector::GuardDutyDetector,
    &iam_role::IamRole,
    &lambda_function::LambdaFunction,
    &secret::Secret,
    &rds_instance::RdsInstance,
];

pub fn kind(name: &str) -> Option<&'static dyn ResourceKind> {
    KINDS.iter().copied().find(|k| k.name() == name)
}

pub fn kind_names() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|k| k.name())
}

/// What an AWS call made of a resource: the operation and the service's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct Failure {
    pub operation: &'static str,
    pub message: String,
    /// The call may have happened anyway: it timed out, or its answer was lost.
    pub ambiguous: bool,
}

impl Failure {
    pub fn new(operation: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            operation,
            message: message.into(),
            ambiguous: false,
        }
    }

    /// Wraps an SDK error of `operation`.
    pub fn sdk<E, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        move |err| {
            let ambiguous = matches!(
                err,
                SdkError::TimeoutError(_)
                    | SdkError::ResponseError(_)
                    | SdkError::DispatchFailure(_)
            );
            Failure {
                ambiguous,
                ..Failure::new(operation, describe_error(&err))
            }
        }
    }
}

/// The service's error code and message when it sent one, else the whole error chain.
pub fn describe_error<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(err).to_string(),
    }
}

/// The error code of an SDK error, if the service sent one.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.code()
}

/// What a resource call needs: the shared clients, the region and the resource's address.
pub struct Ctx<'a> {
    pub aws: &'a Aws,
    pub region: &'a str,
    pub address: &'a str,
    /// The blueprint's directory: relative paths in it (Lambda code) start here.
    pub base_dir: &'a std::path::Path,
    /// For a create: the idempotency token the journal recorded for it, which APIs that take
    /// one (GuardDuty, Secrets Manager) are given, so a repeated call makes nothing twice.
    pub token: Option<&'a str>,
}

/// What a create returns: the physical identity of the new resource, and which attributes
/// the creating call itself already set. The executor records the resource at once and sets
/// the rest with [`ResourceKind::update`], so a failure half-way never leaves an orphan.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub arn: Option<String>,
    pub set: &'static [&'static str],
}

/// The answer of [`ResourceKind::deletion_check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeletionCheck {
    /// Why the deletion cannot happen: the plan fails with it.
    pub blocker: Option<String>,
    /// What the deletion takes with it: the plan shows it.
    pub warning: Option<String>,
}

/// A resource found by listing what exists, managed or not (`drift --unmanaged`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub id: String,
    pub arn: Option<String>,
    pub region: String,
}

impl Discovered {
    /// A listed resource with a name (no name: nothing to manage) and maybe an ARN.
    pub fn named(region: &str, id: Option<&str>, arn: Option<&str>) -> Option<Discovered> {
        Some(Discovered {
            id: id?.to_string(),
            arn: arn.map(String::from),
            region: region.to_string(),
        })
    }

    /// The resource as a read needs it, under `address`, with nothing recorded yet.
    pub fn recorded(&self, kind: &str, address: &str) -> Recorded {
        Recorded {
            address: address.to_string(),
            kind: kind.to_string(),
            id: self.id.clone(),
            arn: self.arn.clone(),
            region: self.region.clone(),
            attributes: Attrs::new(),
            dependencies: Vec::new(),
            prevent_destroy: false,
        }
    }
}

/// Whether a refresh must read `field`: the blueprint or the state has it. A field in neither
/// is not compared, so a call that only reads it is skipped (`audit` names every field).
pub fn manages(recorded: &Recorded, desired: Option<&Attrs>, field: &str) -> bool {
    desired.is_some_and(|d| d.contains_key(field)) || recorded.attributes.contains_key(field)
}

/// One tag of what a read returned (`rampart:blueprint`, `rampart:address`).
pub fn tag<'a>(attrs: &'a Attrs, key: &str) -> Option<&'a str> {
    attrs.get("tags")?.get(key)?.as_str()
}

/// The IAM actions refresh needs of a kind, for `drift --print-iam-policy`.
#[derive(Debug, Clone, Copy)]
pub struct ReadAccess {
    /// Actions on one resource, granted on the ARNs of `arns`.
    pub read: &'static [&'static str],
    /// ARN patterns of one resource: `{region}`, `{account}` and `{name}` (the physical name,
    /// `*` when AWS assigns it or every resource is read) are filled in.
    pub arns: &'static [&'static str],
    /// Actions refresh needs that IAM grants only on `*` (listing aliases or detectors).
    pub any: &'static [&'static str],
    /// Actions listing every resource, needed by `--unmanaged` only.
    pub list: &'static [&'static str],
}

/// One kind of AWS resource.
#[async_trait]
pub trait ResourceKind: Send + Sync {
    /// The kind as written in blueprints, e.g. `s3_bucket`.
    fn name(&self) -> &'static str;

    /// The fields a blueprint may set, with types, defaults and replacement rules.
    fn schema(&self) -> &'static [Field];

    /// Reads what the blueprint points at on disk (Lambda code) when the blueprint is loaded,
    /// so that the planner stays free of I/O; returns (field, problem, hint).
    fn prepare(
        &self,
        _attrs: &mut Attrs,
        _base_dir: &std::path::Path,
    ) -> Vec<(&'static str, String, String)> {
        Vec::new()
    }

    /// Checks that involve more than one field or resource; returns (field, problem, hint).
    fn validate(
        &self,
        _resource: &Resource,
        _blueprint: &Referrers,
    ) -> Vec<(&'static str, String, String)> {
        Vec::new()
    }

    /// What a reference to this resource resolves to: its ARN where it has one (keys, roles,
    /// functions), else its id; buckets answer their name.
    fn reference(&self, recorded: &Recorded) -> Value {
        Value::String(recorded.arn.clone().unwrap_or_else(|| recorded.id.clone()))
    }

    /// Whether the kind is global (IAM): no region applies, so none can change.
    fn global(&self) -> bool {
        false
    }

    /// Whether one blueprint resource stands for one instance per region (its `regions`
    /// field, else the blueprint's `regions`, else its home region), each with the address
    /// `kind.name[region]`.
    fn per_region(&self) -> bool {
        false
    }

    /// The reference value of a resource not created yet, when the blueprint already fixes it
    /// (a bucket's name); `None` shows as "known after apply".
    fn planned_reference(&self, _desired: &Attrs) -> Option<Value> {
        None
    }

    /// Computed attributes, derived from the rest of the blueprint (see `Field::computed`).
    fn derive(&self, _address: &str, _referrers: &Referrers) -> Attrs {
        Attrs::new()
    }

    /// A short physical name shown beside the address in plans (bucket name, key id).
    fn display_id(&self, recorded: &Recorded) -> String {
        recorded.id.clone()
    }

    /// Reads the managed attributes, or `None` if the resource no longer exists.
    ///
    /// An attribute left out of the answer is one AWS does not report; the planner then uses
    /// the recorded value. `desired` tells which optional attributes are managed.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure>;

    /// Creates the resource with as much of `desired` (resolved) as its creating call takes.
    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure>;

    /// Changes the `changed` attributes in place; `before` holds their current values.
    async fn update(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        before: &Attrs,
        desired: &Attrs,
        changed: &[String],
    ) -> Result<(), Failure>;

    /// Deletes the resource (for keys: schedules the deletion).
    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure>;

    /// Lists every resource of the kind in `regions` (a global kind is given one), managed or
    /// not: what `drift --unmanaged` checks.
    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure>;

    /// A value as plans and drift reports may show it (secrets redacted).
    fn shown(&self, _field: &str, value: &Value) -> Value {
        value.clone()
    }

    /// The IAM actions refresh and discovery call.
    fn read_access(&self) -> ReadAccess;

    /// The id (and ARN, when the answer has it) of an existing resource to adopt instead of
    /// creating one: where AWS allows only one (a GuardDuty detector per region, an account
    /// setting), or one with the name the blueprint gives is there already (a trail).
    async fn find_existing(
        &self,
        _ctx: &Ctx<'_>,
        _desired: &Attrs,
    ) -> Result<Option<(String, Option<String>)>, Failure> {
        Ok(None)
    }

    /// What AWS says about deleting the resource now: whether something prevents it, and
    /// what a user should know first (data that goes with it).
    async fn deletion_check(
        &self,
        _ctx: &Ctx<'_>,
        _recorded: &Recorded,
    ) -> Result<DeletionCheck, Failure> {
        Ok(DeletionCheck::default())
    }
}

/// What a create the last run began may have made: the resource with the blueprint's name,
/// or, for kinds whose ids AWS assigns (KMS keys), the one tagged with this address and
/// blueprint. Found by listing, which gives the ARN too.
pub async fn find_created(
    kind: &dyn ResourceKind,
    ctx: &Ctx<'_>,
    desired: &Attrs,
    blueprint: &str,
) -> Result<Option<(String, Option<String>)>, Failure> {
    let listed = kind
        .discover(ctx.aws, std::slice::from_ref(&ctx.region.to_string()))
        .await?;
    let name = ["name", "identifier"]
        .iter()
        .find_map(|f| desired.get(f).and_then(Value::as_str));
    if let Some(name) = name {
        return Ok(listed
            .into_iter()
            .find(|d| d.id == name)
            .map(|d| (d.id, d.arn)));
    }
    for d in listed {
        let rec = d.recorded(kind.name(), ctx.address);
        // A key this caller may not read (another team's) is not the one it made.
        let attrs = match kind.read(ctx, &rec, None).await {
            Ok(Some(attrs)) => attrs,
            Ok(None) => continue,
            Err(f) => {
                tracing::debug!(id = %d.id, error = %f, "skipping a key that cannot be read");
                continue;
            }
        };
        if tag(&attrs, "rampart:address") == Some(ctx.address)
            && tag(&attrs, "rampart:blueprint") == Some(blueprint)
        {
            return Ok(Some((d.id, d.arn)));
        }
    }
    Ok(None)
}

/// The account the credentials are for: an account setting's id.
pub async fn this_account(aws: &Aws) -> Result<String, Failure> {
    aws.account_id()
        .await
        .map_err(|e| Failure::new("GetCallerIdentity", e.to_string()))
}

/// An account setting as a listing finds it: the account's one, in the first region.
pub async fn account_setting(aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
    Ok(vec![Discovered {
        id: this_account(aws).await?,
        arn: None,
        region: regions.first().cloned().unwrap_or_default(),
    }])
}

/// For account-wide settings: a blueprint holds at most one.
pub fn only_one_per_account(
    kind: &str,
    resource: &Resource,
    all: &[Resource],
) -> Vec<(&'static str, String, String)> {
    match all
        .iter()
        .find(|r| r.kind == kind && r.address != resource.address)
    {
        Some(other) if other.address < resource.address => vec![(
            "",
            format!(
                "the account has one {kind}, and `{}` is it already",
                other.address
            ),
            "keep one of them".into(),
        )],
        _ => Vec::new(),
    }
}

/// Runs `list` for every region at once and joins what each found.
pub async fn in_regions<'a, F, Fut>(
    regions: &'a [String],
    list: F,
) -> Result<Vec<Discovered>, Failure>
where
    F: Fn(&'a str) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<Discovered>, Failure>>,
{
    let found = futures::future::try_join_all(regions.iter().map(|r| list(r))).await?;
    Ok(found.into_iter().flatten().collect())
}

/// Who refers to whom in a blueprint, indexed once: what derived grants are made of (who logs
/// into this bucket, which trails use this key) and what validation checks across resources.
/// Looking each up by scanning every resource made planning quadratic in the blueprint's size.
pub struct Referrers<'b> {
    all: &'b [Resource],
    /// (kind, field, target address) -> the resources of `kind` whose `field` names the target.
    index: HashMap<(&'b str, &'b str, &'b str), Vec<&'b Resource>>,
}

impl<'b> Referrers<'b> {
    pub fn index(all: &'b [Resource]) -> Referrers<'b> {
        let mut index: HashMap<_, Vec<&Resource>> = HashMap::new();
        for r in all {
            let Some(kind) = kind(r.kind) else {
                continue;
            };
            for field in kind.schema() {
                if let (Type::Ref(_), Some(Value::String(target))) =
                    (field.ty, r.attrs.get(field.name))
                {
                    index
                        .entry((r.kind, field.name, target.as_str()))
                        .or_default()
                        .push(r);
                }
            }
        }
        Referrers { all, index }
    }

    /// Every resource of the blueprint.
    pub fn resources(&self) -> &'b [Resource] {
        self.all
    }

    /// The `kind` resources whose `field` refers to `address`.
    pub fn to<'q>(&'q self, kind: &'q str, field: &'q str, address: &'q str) -> &'q [&'b Resource] {
        // The keys' lifetimes shrink to the question's (the map is covariant in its keys).
        let index: &HashMap<(&'q str, &'q str, &'q str), Vec<&'b Resource>> = &self.index;
        index
            .get(&(kind, field, address))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Their `name`s, sorted and distinct.
    pub fn of(&self, kind: &str, field: &str, address: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .to(kind, field, address)
            .iter()
            .map(|r| str_attr(&r.attrs, "name").to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// A list of names (features, principals, ARNs) as sorted, distinct strings.
pub fn names(value: Option<&Value>) -> Vec<String> {
    let mut list: Vec<String> = value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    list.sort();
    list.dedup();
    list
}

/// The tag keys `before` has that `wanted` no longer does: what an update must remove.
pub fn stale_tags(before: &Attrs, wanted: &[(String, String)]) -> Vec<String> {
    tags(before)
        .into_iter()
        .filter(|(k, _)| !wanted.iter().any(|(w, _)| w == k))
        .map(|(k, _)| k)
        .collect()
}

/// A string attribute, or "" when absent.
pub fn str_attr<'a>(attrs: &'a Attrs, name: &str) -> &'a str {
    attrs.get(name).and_then(Value::as_str).unwrap_or("")
}

pub fn bool_attr(attrs: &Attrs, name: &str) -> bool {
    attrs.get(name).and_then(Value::as_bool).unwrap_or(false)
}

pub fn int_attr(attrs: &Attrs, name: &str) -> Option<i64> {
    attrs.get(name).and_then(Value::as_i64)
}

/// Tags as (key, value) pairs.
pub fn tags(attrs: &Attrs) -> Vec<(String, String)> {
    attrs
        .get("tags")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn tags_value(pairs: impl IntoIterator<Item = (String, String)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}
