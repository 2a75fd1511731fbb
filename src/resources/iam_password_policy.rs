//! `iam_password_policy`: the account's password policy for IAM users (console passwords).
//!
//! Like the public-access block it is a setting of the account: there is always one (AWS's
//! default when none was set), so a blueprint adopts it and sets it, and destroy returns the
//! account to AWS's default. Refresh is one GetAccountPasswordPolicy call.

use async_trait::async_trait;
use serde_json::Value;

use super::{
    Created, Ctx, Discovered, Failure, ReadAccess, Referrers, ResourceKind, account_setting,
    bool_attr, error_code, int_attr, only_one_per_account, this_account,
};
use crate::aws::Aws;
use crate::blueprint::schema::{Control, Default, Field, Type};
use crate::blueprint::{Attrs, Resource};
use crate::state::Recorded;

pub struct IamPasswordPolicy;

static SCHEMA: &[Field] = &[
    Field::optional(
        "minimum_length",
        Type::Int { min: 6, max: 128 },
        "characters at least",
    )
    .default(Default::Int(14))
    .control(Control::AtLeast { secure: 14 }),
    Field::optional("require_uppercase", Type::Bool, "an uppercase letter")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional("require_lowercase", Type::Bool, "a lowercase letter")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional("require_numbers", Type::Bool, "a digit")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional("require_symbols", Type::Bool, "a symbol")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional(
        "reuse_prevention",
        Type::Int { min: 1, max: 24 },
        "previous passwords that may not be used again",
    )
    .default(Default::Int(24))
    .control(Control::AtLeast { secure: 24 }),
    Field::optional(
        "max_age_days",
        Type::Int { min: 1, max: 1095 },
        "days after which a password expires",
    )
    .default(Default::Int(90))
    .control(Control::AtMost { secure: 90 }),
    Field::optional(
        "allow_users_to_change",
        Type::Bool,
        "users may change their own password",
    )
    .default(Default::Bool(true)),
];

const FIELDS: [&str; 8] = [
    "minimum_length",
    "require_uppercase",
    "require_lowercase",
    "require_numbers",
    "require_symbols",
    "reuse_prevention",
    "max_age_days",
    "allow_users_to_change",
];

async fn put(ctx: &Ctx<'_>, desired: &Attrs) -> Result<(), Failure> {
    let number = |name: &str| int_attr(desired, name).and_then(|n| i32::try_from(n).ok());
    let mut req = ctx
        .aws
        .iam()
        .update_account_password_policy()
        .require_uppercase_characters(bool_attr(desired, "require_uppercase"))
        .require_lowercase_characters(bool_attr(desired, "require_lowercase"))
        .require_numbers(bool_attr(desired, "require_numbers"))
        .require_symbols(bool_attr(desired, "require_symbols"))
        .allow_users_to_change_password(bool_attr(desired, "allow_users_to_change"));
    if let Some(n) = number("minimum_length") {
        req = req.minimum_password_length(n);
    }
    if let Some(n) = number("reuse_prevention") {
        req = req.password_reuse_prevention(n);
    }
    if let Some(n) = number("max_age_days") {
        req = req.max_password_age(n);
    }
    req.send()
        .await
        .map_err(Failure::sdk("UpdateAccountPasswordPolicy"))?;
    Ok(())
}

#[async_trait]
impl ResourceKind for IamPasswordPolicy {
    fn name(&self) -> &'static str {
        "iam_password_policy"
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

    /// One refresh is one call, GetAccountPasswordPolicy, whose answer feeds all eight fields; an
    /// account that never set a policy (`NoSuchEntity`) reads as AWS's default, so the policy never
    /// counts as gone.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        _recorded: &Recorded,
        _desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let out = match ctx.aws.iam().get_account_password_policy().send().await {
            Ok(out) => out,
            // No policy set: AWS's default (8 characters, nothing else required).
            Err(e) if error_code(&e) == Some("NoSuchEntity") => {
                let mut attrs: Attrs = FIELDS
                    .iter()
                    .map(|f| (f.to_string(), Value::Bool(false)))
                    .collect();
                attrs.insert("minimum_length", Value::from(8));
                attrs.insert("reuse_prevention", Value::Null);
                attrs.insert("max_age_days", Value::Null);
                attrs.insert("allow_users_to_change", Value::Bool(true));
                return Ok(Some(attrs));
            }
            Err(e) => return Err(Failure::sdk("GetAccountPasswordPolicy")(e)),
        };
        let Some(p) = out.password_policy() else {
            return Err(Failure::new(
                "GetAccountPasswordPolicy",
                "no policy in the answer",
            ));
        };
        let number = |n: Option<i32>| n.map_or(Value::Null, Value::from);
        let pairs = [
            ("minimum_length", number(p.minimum_password_length())),
            (
                "require_uppercase",
                Value::Bool(p.require_uppercase_characters()),
            ),
            (
                "require_lowercase",
                Value::Bool(p.require_lowercase_characters()),
            ),
            ("require_numbers", Value::Bool(p.require_numbers())),
            ("require_symbols", Value::Bool(p.require_symbols())),
            ("reuse_prevention", number(p.password_reuse_prevention())),
            ("max_age_days", number(p.max_password_age())),
            (
                "allow_users_to_change",
                Value::Bool(p.allow_users_to_change_password()),
            ),
        ];
        Ok(Some(
            pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        put(ctx, desired).await?;
        Ok(Created {
            id: this_account(ctx.aws).await?,
            arn: None,
            set: &FIELDS,
        })
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        _recorded: &Recorded,
        _before: &Attrs,
        desired: &Attrs,
        _changed: &[String],
    ) -> Result<(), Failure> {
        // The policy is set whole: fields left out would fall back to AWS's defaults.
        put(ctx, desired).await
    }

    async fn delete(&self, ctx: &Ctx<'_>, _recorded: &Recorded) -> Result<(), Failure> {
        match ctx.aws.iam().delete_account_password_policy().send().await {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(()),
            Err(e) => Err(Failure::sdk("DeleteAccountPasswordPolicy")(e)),
        }
    }

    /// The account's policy is always there to adopt.
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
            any: &["iam:GetAccountPasswordPolicy"],
            list: &[],
        }
    }
}
