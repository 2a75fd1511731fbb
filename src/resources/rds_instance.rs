//! `rds_instance`: an encrypted, private, deletion-protected database whose master password
//! RDS keeps in Secrets Manager, and whose connections must use TLS.
//!
//! TLS is enforced through a DB parameter group rampart manages with the instance
//! (`IDENTIFIER-rampart`, `rds.force_ssl` for PostgreSQL, `require_secure_transport` for
//! MySQL/MariaDB). Refresh makes two calls: DescribeDBInstances, then DescribeDBParameters of
//! that group.

use async_trait::async_trait;
use std::time::Duration;

use aws_sdk_rds::client::Waiters;
use aws_sdk_rds::error::DisplayErrorContext;
use aws_sdk_rds::types::{ApplyMethod, CloudwatchLogsExportConfiguration, Parameter, Tag};
use serde_json::Value;

use super::{
    Created, Ctx, DeletionCheck, Discovered, Failure, ReadAccess, Referrers, ResourceKind,
    bool_attr, error_code, in_regions, int_attr, names, stale_tags, str_attr, tags, tags_value,
};
use crate::aws::Aws;
use crate::blueprint::schema::{Control, Default, Field, Replace, Type};
use crate::blueprint::{Attrs, Resource};
use crate::state::Recorded;

pub struct RdsInstance;

static SCHEMA: &[Field] = &[
    Field::optional(
        "identifier",
        Type::Str(Some(check_identifier)),
        "the DB instance identifier",
    )
    .required()
    .replace(Replace::OnChange)
    .unique(),
    Field::optional(
        "engine",
        Type::Str(Some(check_engine)),
        "`postgres`, `mysql` or `mariadb`",
    )
    .required()
    .replace(Replace::OnChange),
    Field::optional(
        "engine_version",
        Type::Str(None),
        "e.g. `16.4`, or a major version",
    )
    .required(),
    Field::optional("instance_class", Type::Str(None), "e.g. `db.m6g.large`").required(),
    Field::optional(
        "allocated_storage_gb",
        Type::Int {
            min: 20,
            max: 65536,
        },
        "storage in GiB",
    )
    .required(),
    Field::optional(
        "kms_key",
        Type::Ref("kms_key"),
        "the key that encrypts storage (always encrypted)",
    )
    .required()
    .replace(Replace::OnChange)
    .control(Control::Key),
    Field::optional(
        "master_username",
        Type::Str(Some(check_master_username)),
        "the master user (its password stays in Secrets Manager)",
    )
    .required()
    .replace(Replace::OnChange),
    Field::optional(
        "backup_retention_days",
        Type::Int { min: 1, max: 35 },
        "days automated backups are kept",
    )
    .default(Default::Int(7))
    .control(Control::AtLeast { secure: 7 }),
    Field::optional(
        "log_exports",
        Type::StrList(None),
        "logs exported to CloudWatch, e.g. `postgresql`, `upgrade`",
    )
    .control(Control::Includes),
    Field::optional("deletion_protection", Type::Bool, "refuse deletion")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional(
        "publicly_accessible",
        Type::Bool,
        "reachable from the internet",
    )
    .default(Default::Bool(false))
    .control(Control::Off),
    Field::optional("iam_auth", Type::Bool, "IAM database authentication")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional("multi_az", Type::Bool, "a standby in another zone")
        .default(Default::Bool(false)),
    Field::optional(
        "auto_minor_version_upgrade",
        Type::Bool,
        "minor versions (security fixes) applied automatically",
    )
    .default(Default::Bool(true)),
    Field::optional(
        "copy_tags_to_snapshot",
        Type::Bool,
        "snapshots carry the instance's tags",
    )
    .default(Default::Bool(true)),
    Field::optional("force_tls", Type::Bool, "connections must use TLS")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional("tags", Type::StrMap, "tags besides the blueprint's"),
    Field::optional(
        "managed_master_password",
        Type::Bool,
        "the master password lives in Secrets Manager, under the database's key",
    )
    .computed()
    .control(Control::On),
];

fn check_identifier(id: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && !id.contains("--")
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err("a DB identifier has 1 to 63 lowercase letters, digits and single `-`, starting with a letter".into())
    }
}

fn check_engine(engine: &str) -> Result<(), String> {
    match engine {
        "postgres" | "mysql" | "mariadb" => Ok(()),
        _ => Err("rampart manages `postgres`, `mysql` and `mariadb` instances".into()),
    }
}

/// Engine defaults are the first names an attacker tries.
/// Whether a master user name is an engine default, the first one attackers try.
pub fn is_default_admin(name: &str) -> bool {
    const DEFAULTS: [&str; 8] = [
        "postgres",
        "admin",
        "root",
        "sa",
        "master",
        "mysql",
        "rdsadmin",
        "administrator",
    ];
    DEFAULTS.contains(&name.to_ascii_lowercase().as_str())
}

fn check_master_username(name: &str) -> Result<(), String> {
    if is_default_admin(name) {
        return Err(format!(
            "`{name}` is an engine default that attackers try first; choose a name of your own, e.g. `platform_owner`"
        ));
    }
    let ok = (1..=16).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err("a master user name has 1 to 16 letters, digits and `_`, starting with a letter".into())
    }
}

/// The parameter that forces TLS, per engine.
fn tls_parameter(engine: &str) -> &'static str {
    match engine {
        "postgres" => "rds.force_ssl",
        _ => "require_secure_transport",
    }
}

/// The parameter group family: `postgres16`, `mysql8.0`, `mariadb10.11`.
fn family(engine: &str, version: &str) -> String {
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or("");
    match engine {
        "postgres" => format!("postgres{major}"),
        _ => format!("{engine}{major}.{}", parts.next().unwrap_or("0")),
    }
}

/// Whether the `actual` engine version satisfies the blueprint's `wanted` one.
fn version_meets(actual: &str, wanted: &str, minor_upgrades: bool) -> bool {
    if wanted.is_empty() {
        return false;
    }
    if actual == wanted || actual.starts_with(&format!("{wanted}.")) {
        return true;
    }
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    let (a, w) = (parts(actual), parts(wanted));
    minor_upgrades && a.first() == w.first() && a >= w
}

fn group_name(identifier: &str) -> String {
    format!("{identifier}-rampart")
}

fn rds_tags(attrs: &Attrs) -> Vec<Tag> {
    tags(attrs)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn int32(attrs: &Attrs, name: &str) -> Option<i32> {
    int_attr(attrs, name).and_then(|v| i32::try_from(v).ok())
}

/// How long an instance may take to become available or to go (RDS takes minutes).
const RDS_WAIT: Duration = Duration::from_secs(3600);

impl RdsInstance {
    /// RDS refuses changes to an instance that is still creating or modifying: wait first.
    async fn wait_available(&self, ctx: &Ctx<'_>, id: &str) -> Result<(), Failure> {
        ctx.aws
            .rds(ctx.region)
            .wait_until_db_instance_available()
            .db_instance_identifier(id)
            .wait(RDS_WAIT)
            .await
            .map_err(|e| Failure::new("wait for available", DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }

    async fn set_tls(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<(), Failure> {
        let engine = str_attr(desired, "engine");
        let value = if bool_attr(desired, "force_tls") {
            "1"
        } else {
            "0"
        };
        ctx.aws
            .rds(ctx.region)
            .modify_db_parameter_group()
            .db_parameter_group_name(group_name(str_attr(desired, "identifier")))
            .parameters(
                Parameter::builder()
                    .parameter_name(tls_parameter(engine))
                    .parameter_value(value)
                    .apply_method(ApplyMethod::Immediate)
                    .build(),
            )
            .send()
            .await
            .map_err(Failure::sdk("ModifyDBParameterGroup"))?;
        Ok(())
    }

    async fn describe(
        &self,
        ctx: &Ctx<'_>,
        id: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbInstance>, Failure> {
        match ctx
            .aws
            .rds(ctx.region)
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .db_instances()
                .first()
                .filter(|db| db.db_instance_status() != Some("deleting"))
                .cloned()),
            Err(e) if error_code(&e) == Some("DBInstanceNotFound") => Ok(None),
            Err(e) => Err(Failure::sdk("DescribeDBInstances")(e)),
        }
    }
}

#[async_trait]
impl ResourceKind for RdsInstance {
    fn name(&self) -> &'static str {
        "rds_instance"
    }

    fn schema(&self) -> &'static [Field] {
        SCHEMA
    }

    fn derive(&self, _address: &str, _referrers: &Referrers) -> Attrs {
        Attrs::from([("managed_master_password".to_string(), Value::Bool(true))])
    }

    fn validate(
        &self,
        resource: &Resource,
        _blueprint: &Referrers,
    ) -> Vec<(&'static str, String, String)> {
        let version = str_attr(&resource.attrs, "engine_version");
        if version.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
            return vec![(
                "engine_version",
                "not an engine version".into(),
                "write it like `16.4` (or `16` for the newest minor version)".into(),
            )];
        }
        Vec::new()
    }

    /// One refresh: DescribeDBInstances (does the instance exist; every attribute but `force_tls`,
    /// tags included), then DescribeDBParameters of the parameter group it names (`force_tls`),
    /// which must wait: the group's name and the engine (which parameter forces TLS) come from the
    /// first answer. For rampart's own group (`IDENTIFIER-rampart`), one page of the parameters
    /// set by the user: 2 calls. For any other group every page, defaults included: one call per
    /// 100 parameters, so several for an engine's default group. `identifier` is the recorded id.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let Some(db) = self.describe(ctx, &recorded.id).await? else {
            return Ok(None);
        };
        let engine = db.engine().unwrap_or("").to_string();
        let group = db
            .db_parameter_groups()
            .iter()
            .find_map(|g| g.db_parameter_group_name())
            .unwrap_or("")
            .to_string();
        let force_tls = if group == group_name(&recorded.id) {
            let params = ctx
                .aws
                .rds(ctx.region)
                .describe_db_parameters()
                .db_parameter_group_name(&group)
                .source("user")
                .send()
                .await
                .map_err(Failure::sdk("DescribeDBParameters"))?;
            params.parameters().iter().any(|p| {
                p.parameter_name() == Some(tls_parameter(&engine))
                    && matches!(p.parameter_value(), Some("1" | "ON" | "on"))
            })
        } else {
            // Another group (an engine default, or one attached by hand): its effective
            // value, defaults included, which takes reading every page.
            let params = ctx
                .aws
                .rds(ctx.region)
                .describe_db_parameters()
                .db_parameter_group_name(&group)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(Failure::sdk("DescribeDBParameters"))?;
            params.iter().any(|p| {
                p.parameter_name() == Some(tls_parameter(&engine))
                    && matches!(p.parameter_value(), Some("1" | "ON" | "on"))
            })
        };

        let mut attrs = Attrs::new();
        attrs.insert("identifier", Value::from(recorded.id.as_str()));
        attrs.insert("engine", Value::from(engine.as_str()));
        // A major version in the blueprint is met by any minor version of it, and with minor
        // upgrades on, by any newer minor version RDS moved the instance to.
        let actual = db.engine_version().unwrap_or("");
        let wanted = desired.map(|d| str_attr(d, "engine_version")).unwrap_or("");
        let upgrades = desired.is_some_and(|d| bool_attr(d, "auto_minor_version_upgrade"));
        let version = if version_meets(actual, wanted, upgrades) {
            wanted
        } else {
            actual
        };
        attrs.insert("engine_version", Value::from(version));
        attrs.insert(
            "instance_class",
            Value::from(db.db_instance_class().unwrap_or("")),
        );
        attrs.insert(
            "managed_master_password",
            Value::Bool(db.master_user_secret().is_some()),
        );
        if let Some(gb) = db.allocated_storage() {
            attrs.insert("allocated_storage_gb", Value::from(gb));
        }
        attrs.insert(
            "kms_key",
            match (db.storage_encrypted(), db.kms_key_id()) {
                (Some(true), Some(key)) => Value::from(key),
                _ => Value::from("none (storage not encrypted)"),
            },
        );
        attrs.insert(
            "master_username",
            Value::from(db.master_username().unwrap_or("")),
        );
        if let Some(days) = db.backup_retention_period() {
            attrs.insert("backup_retention_days", Value::from(days));
        }
        let mut logs: Vec<String> = db.enabled_cloudwatch_logs_exports().to_vec();
        logs.sort();
        attrs.insert("log_exports", Value::from(logs));
        for (name, value) in [
            ("deletion_protection", db.deletion_protection()),
            ("publicly_accessible", db.publicly_accessible()),
            ("iam_auth", db.iam_database_authentication_enabled()),
            ("multi_az", db.multi_az()),
            (
                "auto_minor_version_upgrade",
                db.auto_minor_version_upgrade(),
            ),
            ("copy_tags_to_snapshot", db.copy_tags_to_snapshot()),
        ] {
            attrs.insert(name, Value::Bool(value == Some(true)));
        }
        attrs.insert("force_tls", Value::Bool(force_tls));
        attrs.insert(
            "tags",
            tags_value(
                db.tag_list().iter().filter_map(|t| {
                    Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))
                }),
            ),
        );
        Ok(Some(attrs))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        let rds = ctx.aws.rds(ctx.region);
        let id = str_attr(desired, "identifier");
        let engine = str_attr(desired, "engine");
        match rds
            .create_db_parameter_group()
            .db_parameter_group_name(group_name(id))
            .db_parameter_group_family(family(engine, str_attr(desired, "engine_version")))
            .description(format!("TLS enforcement of {id}, managed by rampart"))
            .set_tags(Some(rds_tags(desired)))
            .send()
            .await
        {
            Ok(_) => {}
            // Left by an earlier run that stopped before the instance: reuse it.
            // (moto names the code with the shape's `Fault` suffix).
            Err(e)
                if matches!(
                    error_code(&e),
                    Some("DBParameterGroupAlreadyExists" | "DBParameterGroupAlreadyExistsFault")
                ) => {}
            Err(e) => return Err(Failure::sdk("CreateDBParameterGroup")(e)),
        }
        self.set_tls(ctx, desired).await?;
        let key = str_attr(desired, "kms_key");
        let out = rds
            .create_db_instance()
            .db_instance_identifier(id)
            .engine(engine)
            .engine_version(str_attr(desired, "engine_version"))
            .db_instance_class(str_attr(desired, "instance_class"))
            .set_allocated_storage(int32(desired, "allocated_storage_gb"))
            .storage_encrypted(true)
            .kms_key_id(key)
            .master_username(str_attr(desired, "master_username"))
            // RDS makes and keeps the password in Secrets Manager; rampart never sees it.
            .manage_master_user_password(true)
            .master_user_secret_kms_key_id(key)
            .set_backup_retention_period(int32(desired, "backup_retention_days"))
            .set_enable_cloudwatch_logs_exports(Some(names(desired.get("log_exports"))))
            .deletion_protection(bool_attr(desired, "deletion_protection"))
            .publicly_accessible(bool_attr(desired, "publicly_accessible"))
            .enable_iam_database_authentication(bool_attr(desired, "iam_auth"))
            .multi_az(bool_attr(desired, "multi_az"))
            .auto_minor_version_upgrade(bool_attr(desired, "auto_minor_version_upgrade"))
            .copy_tags_to_snapshot(bool_attr(desired, "copy_tags_to_snapshot"))
            .db_parameter_group_name(group_name(id))
            .set_tags(Some(rds_tags(desired)))
            .send()
            .await
            .map_err(Failure::sdk("CreateDBInstance"))?;
        self.wait_available(ctx, id).await?;
        Ok(Created {
            id: id.to_string(),
            arn: out
                .db_instance()
                .and_then(|db| db.db_instance_arn())
                .map(String::from),
            set: &[
                "identifier",
                "engine",
                "engine_version",
                "instance_class",
                "allocated_storage_gb",
                "kms_key",
                "master_username",
                "backup_retention_days",
                "log_exports",
                "deletion_protection",
                "publicly_accessible",
                "iam_auth",
                "multi_az",
                "auto_minor_version_upgrade",
                "copy_tags_to_snapshot",
                "force_tls",
                "tags",
                "managed_master_password",
            ],
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
        let rds = ctx.aws.rds(ctx.region);
        let id = recorded.id.as_str();
        let changed = |field: &str| changed.iter().any(|c| c == field);
        let settings = [
            "engine_version",
            "instance_class",
            "allocated_storage_gb",
            "backup_retention_days",
            "log_exports",
            "deletion_protection",
            "publicly_accessible",
            "iam_auth",
            "multi_az",
            "auto_minor_version_upgrade",
            "copy_tags_to_snapshot",
        ];
        if settings.iter().any(|s| changed(s)) {
            let mut req = rds
                .modify_db_instance()
                .db_instance_identifier(id)
                // A security setting must not wait for the next maintenance window.
                .apply_immediately(true);
            if changed("engine_version") {
                req = req.engine_version(str_attr(desired, "engine_version"));
            }
            if changed("instance_class") {
                req = req.db_instance_class(str_attr(desired, "instance_class"));
            }
            if changed("allocated_storage_gb") {
                req = req.set_allocated_storage(int32(desired, "allocated_storage_gb"));
            }
            if changed("backup_retention_days") {
                req = req.set_backup_retention_period(int32(desired, "backup_retention_days"));
            }
            if changed("log_exports") {
                let wanted = names(desired.get("log_exports"));
                let had = names(before.get("log_exports"));
                req = req.cloudwatch_logs_export_configuration(
                    CloudwatchLogsExportConfiguration::builder()
                        .set_enable_log_types(Some(
                            wanted
                                .iter()
                                .filter(|l| !had.contains(l))
                                .cloned()
                                .collect(),
                        ))
                        .set_disable_log_types(Some(
                            had.iter()
                                .filter(|l| !wanted.contains(l))
                                .cloned()
                                .collect(),
                        ))
                        .build(),
                );
            }
            let flag = |field: &str| changed(field).then(|| bool_attr(desired, field));
            req = req
                .set_deletion_protection(flag("deletion_protection"))
                .set_publicly_accessible(flag("publicly_accessible"))
                .set_enable_iam_database_authentication(flag("iam_auth"))
                .set_multi_az(flag("multi_az"))
                .set_auto_minor_version_upgrade(flag("auto_minor_version_upgrade"))
                .set_copy_tags_to_snapshot(flag("copy_tags_to_snapshot"));
            req.send().await.map_err(Failure::sdk("ModifyDBInstance"))?;
            self.wait_available(ctx, id).await?;
        }
        if changed("force_tls") {
            self.set_tls(ctx, desired).await?;
        }
        // Always on: rampart never sees or stores the password (only a switch back matters).
        if changed("managed_master_password") {
            rds.modify_db_instance()
                .db_instance_identifier(id)
                .manage_master_user_password(true)
                .master_user_secret_kms_key_id(str_attr(desired, "kms_key"))
                .apply_immediately(true)
                .send()
                .await
                .map_err(Failure::sdk("ModifyDBInstance"))?;
            self.wait_available(ctx, id).await?;
        }
        if changed("tags") {
            let arn = recorded.arn.clone().unwrap_or_else(|| id.to_string());
            let wanted = tags(desired);
            let stale = stale_tags(before, &wanted);
            if !stale.is_empty() {
                rds.remove_tags_from_resource()
                    .resource_name(&arn)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map_err(Failure::sdk("RemoveTagsFromResource"))?;
            }
            rds.add_tags_to_resource()
                .resource_name(&arn)
                .set_tags(Some(rds_tags(desired)))
                .send()
                .await
                .map_err(Failure::sdk("AddTagsToResource"))?;
        }
        Ok(())
    }

    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
        in_regions(regions, |region| async move {
            let dbs = aws
                .rds(region)
                .describe_db_instances()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(Failure::sdk("DescribeDBInstances"))?;
            // Aurora (and DocumentDB, Neptune) members are configured on their cluster.
            Ok(dbs
                .iter()
                .filter(|db| db.db_cluster_identifier().is_none())
                .filter_map(|db| {
                    Discovered::named(region, db.db_instance_identifier(), db.db_instance_arn())
                })
                .collect())
        })
        .await
    }

    fn read_access(&self) -> ReadAccess {
        ReadAccess {
            read: &["rds:DescribeDBInstances", "rds:DescribeDBParameters"],
            // The TLS setting lives in whatever parameter group is attached: rampart's own
            // (`NAME-rampart`), or another one someone attached.
            arns: &[
                "arn:aws:rds:{region}:{account}:db:{name}",
                "arn:aws:rds:{region}:{account}:pg:*",
            ],
            any: &[],
            list: &["rds:DescribeDBInstances"],
        }
    }

    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure> {
        let rds = ctx.aws.rds(ctx.region);
        let id = recorded.id.as_str();
        // A final snapshot is kept: deleting a database never deletes its data outright.
        let snapshot = format!("{id}-final-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
        match rds
            .delete_db_instance()
            .db_instance_identifier(id)
            .skip_final_snapshot(false)
            .final_db_snapshot_identifier(snapshot)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("DBInstanceNotFound") => {}
            Err(e) => return Err(Failure::sdk("DeleteDBInstance")(e)),
        }
        // Gone for good (final snapshot taken) before its parameter group, and before the
        // key it depends on, may go.
        rds.wait_until_db_instance_deleted()
            .db_instance_identifier(id)
            .wait(RDS_WAIT)
            .await
            .map_err(|e| Failure::new("wait for deleted", DisplayErrorContext(&e).to_string()))?;
        match rds
            .delete_db_parameter_group()
            .db_parameter_group_name(group_name(id))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("DBParameterGroupNotFound") => Ok(()),
            Err(e) => Err(Failure::sdk("DeleteDBParameterGroup")(e)),
        }
    }

    async fn deletion_check(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
    ) -> Result<DeletionCheck, Failure> {
        let protected = self
            .describe(ctx, &recorded.id)
            .await?
            .is_some_and(|db| db.deletion_protection() == Some(true));
        Ok(DeletionCheck {
            blocker: protected.then(|| {
                format!(
                    "DB instance `{}` has deletion protection on; set `deletion_protection = false` and apply first if it really must go",
                    recorded.id
                )
            }),
            warning: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_defaults_are_refused_as_master_users() {
        assert!(check_master_username("postgres").is_err());
        assert!(check_master_username("Admin").is_err());
        assert!(check_master_username("platform_owner").is_ok());
        assert!(check_master_username("9lives").is_err());
    }

    #[test]
    fn newer_minor_versions_meet_the_blueprint_only_with_minor_upgrades() {
        assert!(version_meets("16.4", "16.4", false));
        assert!(version_meets("16.4", "16", false));
        assert!(version_meets("16.6", "16.4", true));
        assert!(!version_meets("16.6", "16.4", false));
        assert!(!version_meets("17.1", "16.4", true));
        assert!(!version_meets("16.2", "16.4", true));
    }

    #[test]
    fn families_and_tls_parameters_follow_the_engine() {
        assert_eq!(family("postgres", "16.4"), "postgres16");
        assert_eq!(family("mysql", "8.0.39"), "mysql8.0");
        assert_eq!(tls_parameter("postgres"), "rds.force_ssl");
        assert_eq!(tls_parameter("mysql"), "require_secure_transport");
        assert!(check_identifier("analytics-db").is_ok());
        assert!(check_identifier("Analytics").is_err());
        assert!(check_identifier("a--b").is_err());
    }
}
