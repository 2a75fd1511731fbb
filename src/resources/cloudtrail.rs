//! `cloudtrail`: a trail, multi-region by default, with log-file validation, KMS encryption,
//! S3 data events and logging on.
//!
//! The bucket and the key need grants for CloudTrail; `s3_bucket` and `kms_key` derive them
//! from the trails that name them (`cloudtrail_delivery_from`, `cloudtrail_access`). Refresh
//! makes four concurrent calls: GetTrail, GetTrailStatus (logging), GetEventSelectors
//! (management and data events) and ListTags.

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::{DataResource, EventSelector, ReadWriteType, Tag};
use serde_json::Value;

use super::{
    Created, Ctx, Discovered, Failure, ReadAccess, ResourceKind, bool_attr, error_code, in_regions,
    names, stale_tags, str_attr, tags, tags_value,
};
use crate::aws::Aws;
use crate::blueprint::Attrs;
use crate::blueprint::schema::{Control, Default, Field, Replace, Type};
use crate::state::Recorded;

pub struct CloudTrail;

static SCHEMA: &[Field] = &[
    Field::optional("name", Type::Str(Some(check_trail_name)), "the trail name")
        .required()
        .replace(Replace::OnChange)
        .unique(),
    Field::optional(
        "bucket",
        Type::Ref("s3_bucket"),
        "the bucket that receives the logs",
    )
    .required(),
    Field::optional(
        "kms_key",
        Type::Ref("kms_key"),
        "the key that encrypts the logs; left out, the bucket's encryption",
    )
    .default(Default::Null)
    .control(Control::Key),
    Field::optional("multi_region", Type::Bool, "one trail for every region")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional(
        "include_global_service_events",
        Type::Bool,
        "events of global services (IAM, STS)",
    )
    .default(Default::Bool(true))
    .control(Control::On),
    Field::optional(
        "log_file_validation",
        Type::Bool,
        "digest files that prove the logs unaltered",
    )
    .default(Default::Bool(true))
    .control(Control::On),
    Field::optional(
        "data_events",
        Type::RefList(Some("s3_bucket")),
        "buckets whose object-level reads and writes are logged",
    )
    .default(Default::StrList(&[]))
    .control(Control::Includes),
    Field::optional(
        "management_events",
        Type::Bool,
        "read and write management events are logged",
    )
    .default(Default::Bool(true))
    .control(Control::On),
    Field::optional("logging", Type::Bool, "the trail is started")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional("tags", Type::StrMap, "tags besides the blueprint's"),
];

/// CloudTrail's naming rules.
fn check_trail_name(name: &str) -> Result<(), String> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let ok = (3..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && edge(name.chars().next())
        && edge(name.chars().last())
        && !["._", "-_", "_.", "_-", "..", "--", ".-", "-."]
            .iter()
            .any(|pair| name.contains(pair));
    if ok {
        Ok(())
    } else {
        Err("a trail name has 3 to 128 letters, digits, `.`, `_` and `-`, starts and ends with a letter or digit, and has no two of `._-` in a row".into())
    }
}

fn trail_tags(attrs: &Attrs) -> Result<Vec<Tag>, Failure> {
    tags(attrs)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Failure::new("AddTags", e.to_string()))
        })
        .collect()
}

/// The principal CloudTrail delivers and encrypts as.
pub(super) const SERVICE: &str = "cloudtrail.amazonaws.com";

/// Grants name trails by ARN, in any region (a multi-region trail delivers from all).
pub(super) fn trail_arns(account: &str, trails: &[String]) -> Vec<String> {
    trails
        .iter()
        .map(|t| format!("arn:aws:cloudtrail:*:{account}:trail/{t}"))
        .collect()
}

/// The trails that statements granted to CloudTrail name in `aws:SourceArn`.
pub(super) fn granted_trails(statements: &[Value]) -> Vec<String> {
    let mut trails: Vec<String> = statements
        .iter()
        .filter(|s| s["Principal"]["Service"] == SERVICE)
        .flat_map(|s| match &s["Condition"]["ArnLike"]["aws:SourceArn"] {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        })
        .filter_map(|arn| arn.rsplit_once(":trail/").map(|(_, t)| t.to_string()))
        .collect();
    trails.sort();
    trails.dedup();
    trails
}

/// The bucket an S3 data-resource value names (`arn:aws:s3:::bucket/`), or `*` for the value
/// that means every bucket.
fn logged_bucket(value: &str) -> Option<String> {
    match value.trim_end_matches('/') {
        "arn:aws:s3" | "arn:aws:s3::" | "arn:aws:s3:::" => Some("*".into()),
        other => other.strip_prefix("arn:aws:s3:::").map(String::from),
    }
}

/// Every trail that covers `regions`, wherever it lives: multi-region trails homed in another
/// region (or another account, as organization trails) included. Each as (ARN, whether it is
/// multi-region and logging), for `audit`'s account-wide judgement.
pub async fn covering(aws: &Aws, regions: &[String]) -> Result<Vec<(String, bool)>, Failure> {
    let mut seen = std::collections::BTreeMap::new();
    for region in regions {
        let out = aws
            .cloudtrail(region)
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
            .map_err(Failure::sdk("DescribeTrails"))?;
        for t in out.trail_list() {
            let (Some(arn), Some(home)) = (t.trail_arn(), t.home_region()) else {
                continue;
            };
            if seen.contains_key(arn) {
                continue;
            }
            // The status is asked of the trail's home region, by ARN.
            let logging = aws
                .cloudtrail(home)
                .get_trail_status()
                .name(arn)
                .send()
                .await
                .map_err(Failure::sdk("GetTrailStatus"))?
                .is_logging()
                == Some(true);
            let multi = t.is_multi_region_trail() == Some(true);
            seen.insert(arn.to_string(), multi && logging);
        }
    }
    Ok(seen.into_iter().collect())
}

impl CloudTrail {
    /// Management events (unless `management_events` is off), plus object-level events of the
    /// `data_events` buckets.
    async fn put_selectors(
        &self,
        ctx: &Ctx<'_>,
        trail: &str,
        desired: &Attrs,
    ) -> Result<(), Failure> {
        let buckets = names(desired.get("data_events"));
        let mut selector = EventSelector::builder()
            .read_write_type(ReadWriteType::All)
            .include_management_events(bool_attr(desired, "management_events"));
        if !buckets.is_empty() {
            selector = selector.data_resources(
                DataResource::builder()
                    .r#type("AWS::S3::Object")
                    .set_values(Some(
                        buckets
                            .iter()
                            .map(|b| format!("arn:aws:s3:::{b}/"))
                            .collect(),
                    ))
                    .build(),
            );
        }
        ctx.aws
            .cloudtrail(ctx.region)
            .put_event_selectors()
            .trail_name(trail)
            .event_selectors(selector.build())
            .send()
            .await
            .map_err(Failure::sdk("PutEventSelectors"))?;
        Ok(())
    }

    async fn set_logging(&self, ctx: &Ctx<'_>, trail: &str, on: bool) -> Result<(), Failure> {
        let ct = ctx.aws.cloudtrail(ctx.region);
        if on {
            ct.start_logging()
                .name(trail)
                .send()
                .await
                .map_err(Failure::sdk("StartLogging"))?;
        } else {
            ct.stop_logging()
                .name(trail)
                .send()
                .await
                .map_err(Failure::sdk("StopLogging"))?;
        }
        Ok(())
    }
}

#[async_trait]
impl ResourceKind for CloudTrail {
    fn name(&self) -> &'static str {
        "cloudtrail"
    }

    fn schema(&self) -> &'static [Field] {
        SCHEMA
    }

    /// One refresh: GetTrail (does the trail exist; `bucket`, `kms_key`, `multi_region`,
    /// `include_global_service_events`, `log_file_validation`), GetTrailStatus (`logging`),
    /// GetEventSelectors (`data_events`, `management_events`) and ListTags (`tags`), concurrently:
    /// 4 calls. ListTags takes the trail's ARN: when the state records none (a state from before
    /// adoption recorded it), it waits for GetTrail's answer. `name` is the recorded id.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        _desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let ct = &ctx.aws.cloudtrail(ctx.region);
        let name = recorded.id.as_str();
        let tags_of = |arn: String| async move {
            ct.list_tags()
                .resource_id_list(arn)
                .send()
                .await
                .map_err(Failure::sdk("ListTags"))
        };
        let (trail, status, selectors, early_tags) = tokio::join!(
            ct.get_trail().name(name).send(),
            ct.get_trail_status().name(name).send(),
            ct.get_event_selectors().trail_name(name).send(),
            // ListTags takes the ARN: with it recorded, at once; else after GetTrail tells it.
            async {
                match recorded.arn.clone() {
                    Some(arn) => Some(tags_of(arn).await),
                    None => None,
                }
            },
        );
        let trail = match trail {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("TrailNotFoundException") => return Ok(None),
            Err(e) => return Err(Failure::sdk("GetTrail")(e)),
        };
        let Some(trail) = trail.trail() else {
            return Ok(None);
        };
        let status = status.map_err(Failure::sdk("GetTrailStatus"))?;
        let selectors = selectors.map_err(Failure::sdk("GetEventSelectors"))?;
        let tag_list = match early_tags {
            Some(tags) => tags?,
            None => tags_of(trail.trail_arn().unwrap_or(name).to_string()).await?,
        };

        let mut attrs = Attrs::new();
        attrs.insert("name", Value::from(name));
        attrs.insert(
            "bucket",
            trail.s3_bucket_name().map_or(Value::Null, Value::from),
        );
        attrs.insert(
            "kms_key",
            trail.kms_key_id().map_or(Value::Null, Value::from),
        );
        attrs.insert(
            "multi_region",
            Value::Bool(trail.is_multi_region_trail() == Some(true)),
        );
        attrs.insert(
            "include_global_service_events",
            Value::Bool(trail.include_global_service_events() == Some(true)),
        );
        attrs.insert(
            "log_file_validation",
            Value::Bool(trail.log_file_validation_enabled() == Some(true)),
        );
        // Reads and writes both: a read-only or write-only selector logs half of them.
        let mut buckets: Vec<String> = selectors
            .event_selectors()
            .iter()
            .filter(|s| s.read_write_type().is_none_or(|t| *t == ReadWriteType::All))
            .flat_map(|s| s.data_resources())
            .filter(|d| d.r#type() == Some("AWS::S3::Object"))
            .flat_map(|d| d.values())
            .filter_map(|v| logged_bucket(v))
            .collect();
        // Advanced selectors (what the console makes): S3 data events with no `readOnly` filter.
        for s in selectors.advanced_event_selectors() {
            let fields = s.field_selectors();
            let is = |name: &str, value: &str| {
                fields
                    .iter()
                    .any(|f| f.field() == name && f.equals().iter().any(|v| v == value))
            };
            if !is("eventCategory", "Data")
                || !is("resources.type", "AWS::S3::Object")
                || fields.iter().any(|f| f.field() == "readOnly")
            {
                continue;
            }
            let arns: Vec<&str> = fields
                .iter()
                .filter(|f| f.field() == "resources.ARN")
                .flat_map(|f| f.starts_with().iter().chain(f.equals()))
                .map(String::as_str)
                .collect();
            match fields.iter().any(|f| f.field() == "resources.ARN") {
                false => buckets.push("*".into()),
                true => buckets.extend(arns.into_iter().filter_map(logged_bucket)),
            }
        }
        buckets.sort();
        attrs.insert("data_events", Value::from(buckets));
        // Reads and writes both, from a classic selector or an advanced one.
        let classic = selectors.event_selectors().iter().any(|s| {
            s.include_management_events() == Some(true)
                && s.read_write_type() == Some(&ReadWriteType::All)
        });
        let advanced = selectors.advanced_event_selectors().iter().any(|s| {
            let fields = s.field_selectors();
            fields.iter().any(|f| {
                f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management")
            }) && !fields.iter().any(|f| f.field() == "readOnly")
        });
        attrs.insert("management_events", Value::Bool(classic || advanced));
        attrs.insert("logging", Value::Bool(status.is_logging() == Some(true)));
        attrs.insert(
            "tags",
            tags_value(
                tag_list
                    .resource_tag_list()
                    .iter()
                    .flat_map(|r| r.tags_list())
                    .map(|t| (t.key().to_string(), t.value().unwrap_or("").to_string())),
            ),
        );
        Ok(Some(attrs))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        let name = str_attr(desired, "name");
        let key = str_attr(desired, "kms_key");
        let out = ctx
            .aws
            .cloudtrail(ctx.region)
            .create_trail()
            .name(name)
            .s3_bucket_name(str_attr(desired, "bucket"))
            .is_multi_region_trail(bool_attr(desired, "multi_region"))
            .include_global_service_events(bool_attr(desired, "include_global_service_events"))
            .enable_log_file_validation(bool_attr(desired, "log_file_validation"))
            .set_kms_key_id((!key.is_empty()).then(|| key.to_string()))
            .set_tags_list(Some(trail_tags(desired)?))
            .send()
            .await
            .map_err(Failure::sdk("CreateTrail"))?;
        Ok(Created {
            id: name.to_string(),
            arn: out.trail_arn().map(String::from),
            set: &[
                "name",
                "bucket",
                "kms_key",
                "multi_region",
                "include_global_service_events",
                "log_file_validation",
                "tags",
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
        let ct = ctx.aws.cloudtrail(ctx.region);
        let name = recorded.id.as_str();
        let changed = |field: &str| changed.iter().any(|c| c == field);
        let settings = [
            "bucket",
            "kms_key",
            "multi_region",
            "include_global_service_events",
            "log_file_validation",
        ];
        if settings.iter().any(|s| changed(s)) {
            let key = str_attr(desired, "kms_key");
            ct.update_trail()
                .name(name)
                .s3_bucket_name(str_attr(desired, "bucket"))
                .is_multi_region_trail(bool_attr(desired, "multi_region"))
                .include_global_service_events(bool_attr(desired, "include_global_service_events"))
                .enable_log_file_validation(bool_attr(desired, "log_file_validation"))
                // An empty key id turns KMS encryption off, as UpdateTrail defines it.
                .kms_key_id(key)
                .send()
                .await
                .map_err(Failure::sdk("UpdateTrail"))?;
        }
        if changed("data_events") || changed("management_events") {
            self.put_selectors(ctx, name, desired).await?;
        }
        if changed("logging") {
            self.set_logging(ctx, name, bool_attr(desired, "logging"))
                .await?;
        }
        if changed("tags") {
            let arn = recorded.arn.clone().unwrap_or_else(|| name.to_string());
            let wanted = tags(desired);
            let stale: Vec<Tag> = stale_tags(before, &wanted)
                .into_iter()
                .filter_map(|k| Tag::builder().key(k).build().ok())
                .collect();
            if !stale.is_empty() {
                ct.remove_tags()
                    .resource_id(&arn)
                    .set_tags_list(Some(stale))
                    .send()
                    .await
                    .map_err(Failure::sdk("RemoveTags"))?;
            }
            ct.add_tags()
                .resource_id(&arn)
                .set_tags_list(Some(trail_tags(desired)?))
                .send()
                .await
                .map_err(Failure::sdk("AddTags"))?;
        }
        Ok(())
    }

    /// A trail of this name in this region is adopted: CreateTrail would refuse the name.
    async fn find_existing(
        &self,
        ctx: &Ctx<'_>,
        desired: &Attrs,
    ) -> Result<Option<(String, Option<String>)>, Failure> {
        let name = str_attr(desired, "name");
        match ctx
            .aws
            .cloudtrail(ctx.region)
            .get_trail()
            .name(name)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .trail()
                .filter(|t| t.home_region().is_none_or(|h| h == ctx.region))
                .and_then(|t| {
                    let name = t.name()?.to_string();
                    Some((name, t.trail_arn().map(String::from)))
                })),
            Err(e) if error_code(&e) == Some("TrailNotFoundException") => Ok(None),
            Err(e) => Err(Failure::sdk("GetTrail")(e)),
        }
    }

    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
        in_regions(regions, |region| async move {
            let out = aws
                .cloudtrail(region)
                .describe_trails()
                .include_shadow_trails(false)
                .send()
                .await
                .map_err(Failure::sdk("DescribeTrails"))?;
            // A multi-region trail is listed in every region; it lives in its home region.
            Ok(out
                .trail_list()
                .iter()
                .filter(|t| t.home_region().is_none_or(|h| h == region))
                .filter_map(|t| Discovered::named(region, t.name(), t.trail_arn()))
                .collect())
        })
        .await
    }

    fn read_access(&self) -> ReadAccess {
        ReadAccess {
            read: &[
                "cloudtrail:GetTrail",
                "cloudtrail:GetTrailStatus",
                "cloudtrail:GetEventSelectors",
                "cloudtrail:ListTags",
            ],
            arns: &["arn:aws:cloudtrail:{region}:{account}:trail/{name}"],
            any: &[],
            list: &["cloudtrail:DescribeTrails"],
        }
    }

    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure> {
        match ctx
            .aws
            .cloudtrail(ctx.region)
            .delete_trail()
            .name(&recorded.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("TrailNotFoundException") => Ok(()),
            Err(e) => Err(Failure::sdk("DeleteTrail")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_names_follow_cloudtrail_rules() {
        assert!(check_trail_name("org-audit.trail_1").is_ok());
        assert!(check_trail_name("ab").is_err());
        assert!(check_trail_name("-audit").is_err());
        assert!(check_trail_name("a--b").is_err());
        assert!(check_trail_name("has space").is_err());
    }
}
