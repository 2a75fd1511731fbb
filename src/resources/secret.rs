//! `secret`: a Secrets Manager secret, encrypted with a chosen key and rotated by a Lambda.
//!
//! rampart never sees a secret's value: a new secret gets a random one from Secrets Manager's
//! own generator, passed straight to CreateSecret and dropped; rotation takes it from there.
//! Nothing about the value is recorded, printed or logged. Refresh makes one call:
//! DescribeSecret.

use async_trait::async_trait;
use aws_sdk_secretsmanager::types::{RotationRulesType, Tag};
use serde_json::Value;

use super::{
    Created, Ctx, Discovered, Failure, ReadAccess, ResourceKind, error_code, in_regions, int_attr,
    stale_tags, str_attr, tags, tags_value,
};
use crate::aws::Aws;
use crate::blueprint::Attrs;
use crate::blueprint::schema::{Control, Default, Field, Replace, Type};
use crate::state::Recorded;

pub struct Secret;

static SCHEMA: &[Field] = &[
    Field::optional(
        "name",
        Type::Str(Some(check_secret_name)),
        "the secret's name",
    )
    .required()
    .replace(Replace::OnChange)
    .unique(),
    Field::optional("description", Type::Str(None), "what the secret is"),
    Field::optional(
        "kms_key",
        Type::Ref("kms_key"),
        "the key that encrypts it; left out, `aws/secretsmanager`",
    )
    .default(Default::Null)
    .control(Control::Key),
    Field::optional(
        "rotation_lambda",
        Type::Ref("lambda_function"),
        "the function that rotates it",
    )
    .default(Default::Null)
    .control(Control::Present),
    Field::optional(
        "rotation_days",
        Type::Int { min: 1, max: 365 },
        "days between rotations",
    )
    .default(Default::Int(30))
    .control(Control::AtMost { secure: 90 }),
    Field::optional(
        "recovery_window_days",
        Type::Int { min: 7, max: 30 },
        "how long a destroyed secret can be restored",
    )
    .default(Default::Int(30))
    .local(),
    Field::optional("tags", Type::StrMap, "tags besides the blueprint's"),
];

fn check_secret_name(name: &str) -> Result<(), String> {
    let ok = (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err("a secret name has 1 to 512 letters, digits and `/_+=.@-`".into())
    }
}

fn secret_tags(attrs: &Attrs) -> Vec<Tag> {
    tags(attrs)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

impl Secret {
    async fn set_rotation(&self, ctx: &Ctx<'_>, id: &str, desired: &Attrs) -> Result<(), Failure> {
        let sm = ctx.aws.secrets(ctx.region);
        let lambda = str_attr(desired, "rotation_lambda");
        if lambda.is_empty() {
            match sm.cancel_rotate_secret().secret_id(id).send().await {
                Ok(_) => {}
                // Never rotated: nothing to cancel.
                Err(e) if error_code(&e) == Some("InvalidRequestException") => {}
                Err(e) => return Err(Failure::sdk("CancelRotateSecret")(e)),
            }
            return Ok(());
        }
        sm.rotate_secret()
            .secret_id(id)
            .rotation_lambda_arn(lambda)
            .rotation_rules(
                RotationRulesType::builder()
                    .automatically_after_days(int_attr(desired, "rotation_days").unwrap_or(30))
                    .build(),
            )
            // The first rotation runs on schedule; Secrets Manager tests the function now.
            .rotate_immediately(false)
            .send()
            .await
            .map_err(Failure::sdk("RotateSecret"))?;
        Ok(())
    }
}

#[async_trait]
impl ResourceKind for Secret {
    fn name(&self) -> &'static str {
        "secret"
    }

    fn schema(&self) -> &'static [Field] {
        SCHEMA
    }

    /// One refresh is one call, DescribeSecret (does the secret exist, is it scheduled for
    /// deletion, which counts as gone), whose answer feeds `name`, `description`, `kms_key`,
    /// `rotation_lambda`, `rotation_days` and `tags`. `recovery_window_days` is local and never
    /// read; the secret's value is never asked for.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        _desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let out = match ctx
            .aws
            .secrets(ctx.region)
            .describe_secret()
            .secret_id(&recorded.id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(Failure::sdk("DescribeSecret")(e)),
        };
        // Scheduled for deletion: as good as gone.
        if out.deleted_date().is_some() {
            return Ok(None);
        }
        let mut attrs = Attrs::new();
        attrs.insert("name", Value::from(out.name().unwrap_or(&recorded.id)));
        attrs.insert("description", Value::from(out.description().unwrap_or("")));
        // No key, or the AWS managed one, is what a blueprint without `kms_key` asks for.
        let key = out
            .kms_key_id()
            .filter(|k| !k.is_empty() && *k != "alias/aws/secretsmanager");
        attrs.insert("kms_key", key.map_or(Value::Null, Value::from));
        // `RotationEnabled` is absent, not false, before rotation is configured.
        let rotating = out.rotation_enabled() == Some(true);
        attrs.insert(
            "rotation_lambda",
            match (rotating, out.rotation_lambda_arn()) {
                (true, Some(arn)) => Value::from(arn),
                _ => Value::Null,
            },
        );
        if rotating
            && let Some(days) = out
                .rotation_rules()
                .and_then(|r| r.automatically_after_days())
        {
            attrs.insert("rotation_days", Value::from(days));
        }
        attrs.insert(
            "tags",
            tags_value(
                out.tags().iter().filter_map(|t| {
                    Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))
                }),
            ),
        );
        Ok(Some(attrs))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        let sm = ctx.aws.secrets(ctx.region);
        // The same shape the shipped rotation function makes: 48 letters and digits.
        let initial = sm
            .get_random_password()
            .password_length(48)
            .exclude_punctuation(true)
            .send()
            .await
            .map_err(Failure::sdk("GetRandomPassword"))?;
        let key = str_attr(desired, "kms_key");
        let name = str_attr(desired, "name");
        let created = sm
            .create_secret()
            .name(name)
            .description(str_attr(desired, "description"))
            .set_kms_key_id((!key.is_empty()).then(|| key.to_string()))
            .set_secret_string(initial.random_password().map(String::from))
            .set_tags(Some(secret_tags(desired)))
            // The journal's token (the first version's id): a repeat makes no second secret.
            .set_client_request_token(ctx.token.map(String::from))
            .send()
            .await;
        match created {
            Ok(out) => Ok(Created {
                id: out.name().unwrap_or(name).to_string(),
                arn: out.arn().map(String::from),
                set: &["name", "description", "kms_key", "tags"],
            }),
            // The name is taken by a secret in its recovery window (destroyed earlier):
            // restore it, and let update bring it to the blueprint.
            Err(e)
                if matches!(
                    error_code(&e),
                    Some("ResourceExistsException" | "InvalidRequestException")
                ) =>
            {
                let existing = sm
                    .describe_secret()
                    .secret_id(name)
                    .send()
                    .await
                    .map_err(Failure::sdk("DescribeSecret"))?;
                if existing.deleted_date().is_none() {
                    return Err(Failure::sdk("CreateSecret")(e));
                }
                let restored = sm
                    .restore_secret()
                    .secret_id(name)
                    .send()
                    .await
                    .map_err(Failure::sdk("RestoreSecret"))?;
                Ok(Created {
                    id: name.to_string(),
                    arn: restored.arn().or(existing.arn()).map(String::from),
                    set: &["name"],
                })
            }
            Err(e) => Err(Failure::sdk("CreateSecret")(e)),
        }
    }

    async fn update(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        before: &Attrs,
        desired: &Attrs,
        changed: &[String],
    ) -> Result<(), Failure> {
        let sm = ctx.aws.secrets(ctx.region);
        let id = recorded.id.as_str();
        let changed = |field: &str| changed.iter().any(|c| c == field);
        if changed("description") || changed("kms_key") {
            let key = str_attr(desired, "kms_key");
            sm.update_secret()
                .secret_id(id)
                .description(str_attr(desired, "description"))
                .kms_key_id(if key.is_empty() {
                    "alias/aws/secretsmanager"
                } else {
                    key
                })
                .send()
                .await
                .map_err(Failure::sdk("UpdateSecret"))?;
        }
        if changed("rotation_lambda") || changed("rotation_days") {
            self.set_rotation(ctx, id, desired).await?;
        }
        if changed("tags") {
            let wanted = tags(desired);
            let stale = stale_tags(before, &wanted);
            if !stale.is_empty() {
                sm.untag_resource()
                    .secret_id(id)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map_err(Failure::sdk("UntagResource"))?;
            }
            sm.tag_resource()
                .secret_id(id)
                .set_tags(Some(secret_tags(desired)))
                .send()
                .await
                .map_err(Failure::sdk("TagResource"))?;
        }
        Ok(())
    }

    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
        in_regions(regions, |region| async move {
            let pages = aws
                .secrets(region)
                .list_secrets()
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(Failure::sdk("ListSecrets"))?;
            Ok(pages
                .iter()
                .flat_map(|p| p.secret_list())
                // Secrets another service owns (an RDS master password) are that service's.
                .filter(|s| s.deleted_date().is_none() && s.owning_service().is_none())
                .filter_map(|s| Discovered::named(region, s.name(), s.arn()))
                .collect())
        })
        .await
    }

    fn read_access(&self) -> ReadAccess {
        ReadAccess {
            read: &["secretsmanager:DescribeSecret"],
            // Secrets Manager appends six random characters to a secret's ARN.
            arns: &["arn:aws:secretsmanager:{region}:{account}:secret:{name}-??????"],
            any: &[],
            list: &["secretsmanager:ListSecrets"],
        }
    }

    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure> {
        // Never without recovery: a destroyed secret can be restored for its window.
        let window = int_attr(&recorded.attributes, "recovery_window_days").unwrap_or(30);
        match ctx
            .aws
            .secrets(ctx.region)
            .delete_secret()
            .secret_id(&recorded.id)
            .recovery_window_in_days(window)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(Failure::sdk("DeleteSecret")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_follow_secrets_manager_rules() {
        assert!(check_secret_name("prod/api/openai").is_ok());
        assert!(check_secret_name("has space").is_err());
        assert!(check_secret_name("").is_err());
    }
}
