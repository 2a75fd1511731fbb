//! `account_public_access_block`: the account-level S3 public-access block, which overrides
//! every bucket's own settings, including buckets no blueprint manages.
//!
//! It is a setting of the account, not something created: it always exists (not configured
//! means all four flags off), so a blueprint adopts it (`<=`) and sets it, and destroy turns
//! it off. Refresh is one GetPublicAccessBlock call.

use async_trait::async_trait;
use aws_sdk_s3control::types::PublicAccessBlockConfiguration;
use serde_json::Value;

use super::{
    Created, Ctx, Discovered, Failure, ReadAccess, Referrers, ResourceKind, account_setting,
    bool_attr, error_code, only_one_per_account, this_account,
};
use crate::aws::Aws;
use crate::blueprint::schema::{Control, Default, Field, Type};
use crate::blueprint::{Attrs, Resource};
use crate::state::Recorded;

pub struct AccountPublicAccessBlock;

static SCHEMA: &[Field] = &[
    Field::optional("block_public_acls", Type::Bool, "refuse new public ACLs")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional(
        "ignore_public_acls",
        Type::Bool,
        "ignore existing public ACLs",
    )
    .default(Default::Bool(true))
    .control(Control::On),
    Field::optional(
        "block_public_policy",
        Type::Bool,
        "refuse public bucket policies",
    )
    .default(Default::Bool(true))
    .control(Control::On),
    Field::optional(
        "restrict_public_buckets",
        Type::Bool,
        "only the account and AWS services reach buckets with public policies",
    )
    .default(Default::Bool(true))
    .control(Control::On),
];

const FLAGS: [&str; 4] = [
    "block_public_acls",
    "ignore_public_acls",
    "block_public_policy",
    "restrict_public_buckets",
];

/// Whether S3 Control answered that the account never set the block; moto names the code
/// only in the `x-amzn-errortype` header.
fn not_set<E: aws_sdk_s3control::error::ProvideErrorMetadata>(
    err: &aws_sdk_s3control::error::SdkError<E, aws_sdk_s3control::config::http::HttpResponse>,
) -> bool {
    const NOT_SET: &str = "NoSuchPublicAccessBlockConfiguration";
    error_code(err) == Some(NOT_SET)
        || err.raw_response().is_some_and(|r| {
            r.headers()
                .get("x-amzn-errortype")
                .is_some_and(|t| t.starts_with(NOT_SET))
        })
}

async fn put(ctx: &Ctx<'_>, account: &str, desired: &Attrs) -> Result<(), Failure> {
    let flag = |name: &str| Some(bool_attr(desired, name));
    ctx.aws
        .s3control()
        .put_public_access_block()
        .account_id(account)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .set_block_public_acls(flag("block_public_acls"))
                .set_ignore_public_acls(flag("ignore_public_acls"))
                .set_block_public_policy(flag("block_public_policy"))
                .set_restrict_public_buckets(flag("restrict_public_buckets"))
                .build(),
        )
        .send()
        .await
        .map_err(Failure::sdk("PutPublicAccessBlock"))?;
    Ok(())
}

#[async_trait]
impl ResourceKind for AccountPublicAccessBlock {
    fn name(&self) -> &'static str {
        "account_public_access_block"
    }

    fn schema(&self) -> &'static [Field] {
        SCHEMA
    }

    fn global(&self) -> bool {
        true
    }

    fn validate(
        &self,
        resource: &Resource,
        blueprint: &Referrers,
    ) -> Vec<(&'static str, String, String)> {
        only_one_per_account(self.name(), resource, blueprint.resources())
    }

    /// One refresh is one call, GetPublicAccessBlock (S3 Control, for the account in
    /// `recorded.id`), whose answer feeds all four flags; an account that never set the block reads
    /// as all four off. No STS call: the account id is the recorded id.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        _desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let out = ctx
            .aws
            .s3control()
            .get_public_access_block()
            .account_id(&recorded.id)
            .send()
            .await;
        let config = match out {
            Ok(out) => out.public_access_block_configuration().cloned(),
            Err(e) if not_set(&e) => None,
            Err(e) => return Err(Failure::sdk("GetPublicAccessBlock")(e)),
        };
        let values = config.map_or([false; 4], |c| {
            [
                c.block_public_acls() == Some(true),
                c.ignore_public_acls() == Some(true),
                c.block_public_policy() == Some(true),
                c.restrict_public_buckets() == Some(true),
            ]
        });
        Ok(Some(
            FLAGS
                .iter()
                .zip(values)
                .map(|(f, v)| (f.to_string(), Value::Bool(v)))
                .collect(),
        ))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        let account = this_account(ctx.aws).await?;
        put(ctx, &account, desired).await?;
        Ok(Created {
            id: account,
            arn: None,
            set: &FLAGS,
        })
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        _before: &Attrs,
        desired: &Attrs,
        _changed: &[String],
    ) -> Result<(), Failure> {
        // One call sets all four flags.
        put(ctx, &recorded.id, desired).await
    }

    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure> {
        match ctx
            .aws
            .s3control()
            .delete_public_access_block()
            .account_id(&recorded.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_set(&e) => Ok(()),
            Err(e) => Err(Failure::sdk("DeletePublicAccessBlock")(e)),
        }
    }

    /// The account's setting is always there to adopt.
    async fn find_existing(
        &self,
        ctx: &Ctx<'_>,
        _desired: &Attrs,
    ) -> Result<Option<(String, Option<String>)>, Failure> {
        Ok(Some((this_account(ctx.aws).await?, None)))
    }

    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
        account_setting(aws, regions).await
    }

    fn read_access(&self) -> ReadAccess {
        ReadAccess {
            read: &[],
            arns: &[],
            any: &["s3:GetAccountPublicAccessBlock"],
            list: &[],
        }
    }
}
