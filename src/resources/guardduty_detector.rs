//! `guardduty_detector`: GuardDuty threat detection, one detector per region.
//!
//! A blueprint resource stands for one detector in each of its regions (`per_region`). Refresh
//! makes one call per detector: GetDetector answers status, publishing frequency, features and
//! tags at once.

use async_trait::async_trait;
use aws_sdk_guardduty::types::{
    DetectorFeature, DetectorFeatureConfiguration, FeatureStatus, FindingPublishingFrequency,
};
use serde_json::Value;

use super::{
    Created, Ctx, Discovered, Failure, ReadAccess, Referrers, ResourceKind, bool_attr, error_code,
    in_regions, names, stale_tags, str_attr, tags, tags_value,
};
use crate::aws::Aws;
use crate::blueprint::schema::{Control, Default, Field, Type};
use crate::blueprint::{Attrs, Resource};
use crate::state::Recorded;

pub struct GuardDutyDetector;

/// The protections a detector can turn on, as GuardDuty names them.
const FEATURES: &[&str] = &[
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "EKS_RUNTIME_MONITORING",
    "LAMBDA_NETWORK_LOGS",
    "RUNTIME_MONITORING",
];

/// Secure by default: every protection a data platform can use.
const DEFAULT_FEATURES: &[&str] = &[
    "S3_DATA_EVENTS",
    "EKS_AUDIT_LOGS",
    "EBS_MALWARE_PROTECTION",
    "RDS_LOGIN_EVENTS",
    "LAMBDA_NETWORK_LOGS",
    "RUNTIME_MONITORING",
];

static SCHEMA: &[Field] = &[
    Field::optional(
        "regions",
        Type::StrList(Some(crate::blueprint::check_region)),
        "regions with a detector; left out, the blueprint's `regions`, else its `region`",
    ),
    Field::optional("enabled", Type::Bool, "the detector runs")
        .default(Default::Bool(true))
        .control(Control::On),
    Field::optional(
        "features",
        Type::StrList(Some(check_feature)),
        "protections turned on",
    )
    .default(Default::StrList(DEFAULT_FEATURES))
    .control(Control::Includes),
    Field::optional(
        "finding_publishing_frequency",
        Type::Str(Some(check_frequency)),
        "`FIFTEEN_MINUTES`, `ONE_HOUR` or `SIX_HOURS`",
    )
    .default(Default::Str("FIFTEEN_MINUTES")),
    Field::optional("tags", Type::StrMap, "tags besides the blueprint's"),
];

fn check_feature(name: &str) -> Result<(), String> {
    if FEATURES.contains(&name) {
        Ok(())
    } else {
        Err(format!("GuardDuty features are {}", FEATURES.join(", ")))
    }
}

fn check_frequency(value: &str) -> Result<(), String> {
    match value {
        "FIFTEEN_MINUTES" | "ONE_HOUR" | "SIX_HOURS" => Ok(()),
        _ => Err("the frequency is `FIFTEEN_MINUTES`, `ONE_HOUR` or `SIX_HOURS`".into()),
    }
}

/// The full feature list to send: the wanted ones on, and `also_off` (what may be on but is
/// not wanted) off. Complete, because some endpoints replace the list rather than merge it.
fn feature_configs(wanted: &[String], also_off: &[String]) -> Vec<DetectorFeatureConfiguration> {
    let on = wanted.iter().map(|f| (f, FeatureStatus::Enabled));
    let off = also_off
        .iter()
        .filter(|f| !wanted.contains(f))
        .map(|f| (f, FeatureStatus::Disabled));
    on.chain(off)
        .map(|(name, status)| {
            DetectorFeatureConfiguration::builder()
                .name(DetectorFeature::from(name.as_str()))
                .status(status)
                .build()
        })
        .collect()
}

#[async_trait]
impl ResourceKind for GuardDutyDetector {
    fn name(&self) -> &'static str {
        "guardduty_detector"
    }

    fn schema(&self) -> &'static [Field] {
        SCHEMA
    }

    fn per_region(&self) -> bool {
        true
    }

    fn validate(
        &self,
        resource: &Resource,
        _blueprint: &Referrers,
    ) -> Vec<(&'static str, String, String)> {
        let features = names(resource.attrs.get("features"));
        if features.iter().any(|f| f == "RUNTIME_MONITORING")
            && features.iter().any(|f| f == "EKS_RUNTIME_MONITORING")
        {
            return vec![(
                "features",
                "`RUNTIME_MONITORING` includes and replaces `EKS_RUNTIME_MONITORING`".into(),
                "list only `RUNTIME_MONITORING`".into(),
            )];
        }
        Vec::new()
    }

    /// One refresh is one call, GetDetector (does the detector exist), whose answer feeds
    /// `enabled`, `features`, `finding_publishing_frequency` and `tags`. `regions` is not read:
    /// one detector does not know it, and the planner keeps the recorded value.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        _desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let out = match ctx
            .aws
            .guardduty(ctx.region)
            .get_detector()
            .detector_id(&recorded.id)
            .send()
            .await
        {
            Ok(out) => out,
            // GuardDuty's answer for a detector that is gone (or was never this account's).
            Err(e)
                if error_code(&e) == Some("BadRequestException")
                    && crate::resources::describe_error(&e).contains("not owned") =>
            {
                return Ok(None);
            }
            Err(e) => return Err(Failure::sdk("GetDetector")(e)),
        };
        // GuardDuty also reports its foundational sources (CLOUD_TRAIL, DNS_LOGS, FLOW_LOGS),
        // which are always on and not features one sets: only those of FEATURES count.
        let mut features: Vec<String> = out
            .features()
            .iter()
            .filter(|f| f.status() == Some(&FeatureStatus::Enabled))
            .filter_map(|f| f.name().map(|n| n.as_str().to_string()))
            .filter(|n| FEATURES.contains(&n.as_str()))
            .collect();
        features.sort();
        let mut attrs = Attrs::new();
        attrs.insert(
            "enabled",
            Value::Bool(out.status().is_some_and(|s| s.as_str() == "ENABLED")),
        );
        attrs.insert("features", Value::from(features));
        if let Some(freq) = out.finding_publishing_frequency() {
            attrs.insert("finding_publishing_frequency", Value::from(freq.as_str()));
        }
        let mut tag_pairs: Vec<(String, String)> = out
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        tag_pairs.sort();
        attrs.insert("tags", tags_value(tag_pairs));
        Ok(Some(attrs))
    }

    /// GuardDuty allows one detector per region: one made by hand is adopted, not duplicated.
    async fn find_existing(
        &self,
        ctx: &Ctx<'_>,
        _desired: &Attrs,
    ) -> Result<Option<(String, Option<String>)>, Failure> {
        let out = ctx
            .aws
            .guardduty(ctx.region)
            .list_detectors()
            .send()
            .await
            .map_err(Failure::sdk("ListDetectors"))?;
        Ok(out.detector_ids().first().map(|id| (id.clone(), None)))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        let mut req = ctx
            .aws
            .guardduty(ctx.region)
            .create_detector()
            .enable(bool_attr(desired, "enabled"))
            // The journal's token: a repeated create makes one detector, not two.
            .set_client_token(ctx.token.map(String::from))
            .finding_publishing_frequency(FindingPublishingFrequency::from(str_attr(
                desired,
                "finding_publishing_frequency",
            )))
            // Every feature said, on or off: otherwise AWS's defaults differ from the blueprint.
            .set_features(Some(feature_configs(
                &names(desired.get("features")),
                // The superseded EKS-only monitoring may not be named beside its successor.
                &FEATURES
                    .iter()
                    .filter(|f| **f != "EKS_RUNTIME_MONITORING")
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>(),
            )));
        for (k, v) in tags(desired) {
            req = req.tags(k, v);
        }
        let out = req.send().await.map_err(Failure::sdk("CreateDetector"))?;
        let id = out
            .detector_id()
            .ok_or_else(|| Failure::new("CreateDetector", "the answer has no detector id"))?;
        Ok(Created {
            id: id.to_string(),
            arn: None,
            set: &[
                "enabled",
                "features",
                "finding_publishing_frequency",
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
        let gd = ctx.aws.guardduty(ctx.region);
        let changed = |name: &str| changed.iter().any(|c| c == name);
        if changed("enabled") || changed("features") || changed("finding_publishing_frequency") {
            gd.update_detector()
                .detector_id(&recorded.id)
                .enable(bool_attr(desired, "enabled"))
                .finding_publishing_frequency(FindingPublishingFrequency::from(str_attr(
                    desired,
                    "finding_publishing_frequency",
                )))
                .set_features(Some(feature_configs(
                    &names(desired.get("features")),
                    &names(before.get("features")),
                )))
                .send()
                .await
                .map_err(Failure::sdk("UpdateDetector"))?;
        }
        if changed("tags") {
            let account = ctx
                .aws
                .account_id()
                .await
                .map_err(|e| Failure::new("TagResource", e.to_string()))?;
            let arn = format!(
                "arn:aws:guardduty:{}:{account}:detector/{}",
                ctx.region, recorded.id
            );
            let wanted = tags(desired);
            let stale = stale_tags(before, &wanted);
            if !stale.is_empty() {
                gd.untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map_err(Failure::sdk("UntagResource"))?;
            }
            let mut req = gd.tag_resource().resource_arn(&arn);
            for (k, v) in wanted {
                req = req.tags(k, v);
            }
            req.send().await.map_err(Failure::sdk("TagResource"))?;
        }
        Ok(())
    }

    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
        in_regions(regions, |region| async move {
            let ids = aws
                .guardduty(region)
                .list_detectors()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(Failure::sdk("ListDetectors"))?;
            Ok(ids
                .into_iter()
                .map(|id| Discovered {
                    id,
                    arn: None,
                    region: region.to_string(),
                })
                .collect())
        })
        .await
    }

    fn read_access(&self) -> ReadAccess {
        ReadAccess {
            read: &["guardduty:GetDetector"],
            arns: &["arn:aws:guardduty:{region}:{account}:detector/*"],
            // Refresh looks for a detector to adopt.
            any: &["guardduty:ListDetectors"],
            list: &[],
        }
    }

    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure> {
        match ctx
            .aws
            .guardduty(ctx.region)
            .delete_detector()
            .detector_id(&recorded.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::resources::describe_error(&e).contains("not owned") => Ok(()),
            Err(e) => Err(Failure::sdk("DeleteDetector")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feature_list_sent_is_complete() {
        let wanted = vec!["S3_DATA_EVENTS".to_string()];
        let before = vec!["S3_DATA_EVENTS".to_string(), "RDS_LOGIN_EVENTS".to_string()];
        let sent = feature_configs(&wanted, &before);
        let pairs: Vec<(String, String)> = sent
            .iter()
            .map(|f| {
                (
                    f.name().map(|n| n.as_str().to_string()).unwrap_or_default(),
                    f.status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("S3_DATA_EVENTS".into(), "ENABLED".into()),
                ("RDS_LOGIN_EVENTS".into(), "DISABLED".into())
            ]
        );
        assert!(check_feature("S3_DATA_EVENTS").is_ok());
        assert!(check_feature("S3_LOGS").is_err());
    }
}
