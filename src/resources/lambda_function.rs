//! `lambda_function`: a function whose code rampart zips deterministically from a path beside
//! the blueprint, so that a change of content (and only that) is an update.
//!
//! Refresh makes two concurrent calls: GetFunction (configuration, code hash, tags) and
//! GetPolicy (whether Secrets Manager may invoke it for rotation).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::error::DisplayErrorContext;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{
    Created, Ctx, Discovered, Failure, ReadAccess, Referrers, ResourceKind, bool_attr, error_code,
    in_regions, int_attr, stale_tags, str_attr, tags, tags_value,
};
use crate::aws::Aws;
use crate::blueprint::schema::{Control, Default, Field, Replace, Type};
use crate::blueprint::{Attrs, Resource};
use crate::state::Recorded;

pub struct LambdaFunction;

static SCHEMA: &[Field] = &[
    Field::optional(
        "name",
        Type::Str(Some(check_function_name)),
        "the function name",
    )
    .required()
    .replace(Replace::OnChange)
    .unique(),
    Field::optional(
        "runtime",
        Type::Str(Some(check_runtime)),
        "e.g. `python3.12`",
    )
    .required(),
    Field::optional("handler", Type::Str(None), "e.g. `index.handler`").required(),
    Field::optional("role", Type::Ref("iam_role"), "the execution role").required(),
    Field::optional(
        "code",
        Type::Str(None),
        "a directory or file, relative to the blueprint",
    )
    .required()
    .local(),
    Field::optional(
        "code_sha256",
        Type::Str(None),
        "hash of the deployment package rampart builds",
    )
    .computed(),
    Field::optional(
        "timeout_seconds",
        Type::Int { min: 1, max: 900 },
        "how long one invocation may run",
    )
    .default(Default::Int(30)),
    Field::optional(
        "environment",
        Type::StrMap,
        "plain settings; secrets belong in Secrets Manager",
    ),
    Field::optional("tags", Type::StrMap, "tags besides the blueprint's"),
    Field::optional(
        "rotation_permission",
        Type::Bool,
        "Secrets Manager may invoke it (a secret rotates with it)",
    )
    .computed()
    .control(Control::On),
];

/// The statement id of the permission rampart grants Secrets Manager.
const ROTATION_STATEMENT: &str = "RampartSecretsManagerRotation";

fn check_function_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err("a function name has 1 to 64 letters, digits, `-` and `_`".into())
    }
}

fn check_runtime(runtime: &str) -> Result<(), String> {
    let known = [
        "python3.",
        "nodejs",
        "java",
        "dotnet",
        "ruby",
        "provided.al2",
    ];
    if known.iter().any(|p| runtime.starts_with(p)) && !runtime.contains(' ') {
        Ok(())
    } else {
        Err("not a Lambda runtime like `python3.12` or `nodejs22.x`".into())
    }
}

/// Whether an environment value looks like a credential rather than a setting.
fn looks_secret(key: &str, value: &str) -> bool {
    // By word of the name, so `OPENAI_KEY` and `DB_PASS` count and `AUTHOR` does not.
    let key = key.to_ascii_uppercase();
    let words = [
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PWD",
        "SECRET",
        "TOKEN",
        "KEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "AUTH",
        "APIKEY",
    ];
    let named = key
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| words.contains(&w));
    // A name that says secret may still hold a pointer to one (an ARN or a secret's name).
    let pointer = value.starts_with("arn:aws:") || value.is_empty();
    let shaped = value.starts_with("AKIA") && value.len() == 20
        || value.contains("-----BEGIN")
        || value.starts_with("sk-")
        || value.starts_with("ghp_")
        || value.starts_with("xoxb-");
    shaped || (named && !pointer)
}

/// Zips `path` (a file, or a directory walked in sorted order) with fixed timestamps and
/// modes, so the same content always makes the same package and the same hash.
pub fn bundle(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    if path.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let p = entry.path();
                if entry.file_type()?.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(path) {
                    files.push((rel.to_string_lossy().replace('\\', "/"), p.clone()));
                }
            }
        }
    } else {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((name, path.to_path_buf()));
    }
    files.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, file) in files {
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(&std::fs::read(file)?)?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
}

/// Lambda's form of a package hash: base64 of its SHA-256.
fn package_hash(package: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(package))
}

fn environment(attrs: &Attrs) -> Environment {
    let vars = attrs
        .get("environment")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    Environment::builder().set_variables(Some(vars)).build()
}

impl LambdaFunction {
    /// The package to upload, built again from disk and checked against the planned hash.
    fn package(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Vec<u8>, Failure> {
        let path = ctx.base_dir.join(str_attr(desired, "code"));
        let package = bundle(&path).map_err(|e| {
            Failure::new("package", format!("cannot read `{}`: {e}", path.display()))
        })?;
        if package_hash(&package) != str_attr(desired, "code_sha256") {
            return Err(Failure::new(
                "package",
                format!(
                    "`{}` changed since the plan was made; run plan again",
                    path.display()
                ),
            ));
        }
        Ok(package)
    }

    async fn set_permission(&self, ctx: &Ctx<'_>, name: &str, on: bool) -> Result<(), Failure> {
        let lambda = ctx.aws.lambda(ctx.region);
        if on {
            let account = ctx
                .aws
                .account_id()
                .await
                .map_err(|e| Failure::new("AddPermission", e.to_string()))?;
            lambda
                .add_permission()
                .function_name(name)
                .statement_id(ROTATION_STATEMENT)
                .action("lambda:InvokeFunction")
                .principal("secretsmanager.amazonaws.com")
                // Only this account's secrets may invoke it.
                .source_account(account)
                .send()
                .await
                .map_err(Failure::sdk("AddPermission"))?;
        } else {
            match lambda
                .remove_permission()
                .function_name(name)
                .statement_id(ROTATION_STATEMENT)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if error_code(&e) == Some("ResourceNotFoundException") => {}
                Err(e) => return Err(Failure::sdk("RemovePermission")(e)),
            }
        }
        Ok(())
    }
}

/// How long a function may take to become active or finish an update.
const LAMBDA_WAIT: Duration = Duration::from_secs(300);

/// Waits until the function can be invoked (after create) or changed again (after an update).
async fn wait_ready(ctx: &Ctx<'_>, name: &str, created: bool) -> Result<(), Failure> {
    let lambda = ctx.aws.lambda(ctx.region);
    let waited = if created {
        lambda
            .wait_until_function_active_v2()
            .function_name(name)
            .wait(LAMBDA_WAIT)
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    } else {
        lambda
            .wait_until_function_updated_v2()
            .function_name(name)
            .wait(LAMBDA_WAIT)
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(&e).to_string())
    };
    waited.map_err(|e| Failure::new("wait for the function", e))
}

/// Retries `call` while Lambda is busy with a previous update of the function, or while a
/// new execution role is not yet visible to it (IAM is eventually consistent).
async fn retry_busy<T, F, Fut>(operation: &'static str, mut call: F) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    let mut delay = Duration::from_millis(500);
    for _ in 0..6 {
        match call().await {
            Err(f)
                if f.message.starts_with("ResourceConflictException")
                    || f.message.contains("cannot be assumed") =>
            {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    call().await.map_err(|f| Failure::new(operation, f.message))
}

#[async_trait]
impl ResourceKind for LambdaFunction {
    fn name(&self) -> &'static str {
        "lambda_function"
    }

    fn schema(&self) -> &'static [Field] {
        SCHEMA
    }

    fn prepare(&self, attrs: &mut Attrs, base_dir: &Path) -> Vec<(&'static str, String, String)> {
        let path = base_dir.join(str_attr(attrs, "code"));
        match bundle(&path) {
            Ok(package) => {
                attrs.insert("code_sha256", Value::from(package_hash(&package)));
                Vec::new()
            }
            Err(e) => vec![(
                "code",
                format!("cannot read `{}`: {e}", path.display()),
                "`code` is a directory or file relative to the blueprint".into(),
            )],
        }
    }

    fn validate(
        &self,
        resource: &Resource,
        _blueprint: &Referrers,
    ) -> Vec<(&'static str, String, String)> {
        let Some(Value::Object(env)) = resource.attrs.get("environment") else {
            return Vec::new();
        };
        env.iter()
            .filter(|(k, v)| looks_secret(k, v.as_str().unwrap_or("")))
            // Never repeat the value itself: the error may end up in a CI log.
            .map(|(k, _)| {
                (
                    "environment",
                    format!("`{k}` looks like a secret; environment values are visible to anyone who can read the function"),
                    "keep it in a `secret` and pass its ARN or name instead".to_string(),
                )
            })
            .collect()
    }

    fn derive(&self, address: &str, referrers: &Referrers) -> Attrs {
        let rotates = !referrers
            .of("secret", "rotation_lambda", address)
            .is_empty();
        Attrs::from([("rotation_permission".to_string(), Value::Bool(rotates))])
    }

    /// One refresh: concurrently GetFunction (does the function exist; `runtime`, `handler`,
    /// `role`, `code_sha256`, `timeout_seconds`, `environment`, and `tags`, which it includes when
    /// lambda:ListTags is allowed) and GetPolicy (`rotation_permission`: whether the resource
    /// policy holds rampart's Secrets Manager statement). 2 calls. `code` is local and never read;
    /// `name` is the recorded id.
    async fn read(
        &self,
        ctx: &Ctx<'_>,
        recorded: &Recorded,
        _desired: Option<&Attrs>,
    ) -> Result<Option<Attrs>, Failure> {
        let lambda = ctx.aws.lambda(ctx.region);
        let name = recorded.id.as_str();
        let (function, policy) = tokio::join!(
            lambda.get_function().function_name(name).send(),
            lambda.get_policy().function_name(name).send(),
        );
        let function = match function {
            Ok(out) => out,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(Failure::sdk("GetFunction")(e)),
        };
        let Some(conf) = function.configuration() else {
            return Ok(None);
        };
        let permitted = match policy {
            Ok(out) => out
                .policy()
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .and_then(|doc| doc["Statement"].as_array().cloned())
                .is_some_and(|s| s.iter().any(|st| st["Sid"] == ROTATION_STATEMENT)),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => false,
            Err(e) => return Err(Failure::sdk("GetPolicy")(e)),
        };
        let mut attrs = Attrs::new();
        attrs.insert("name", Value::from(name));
        attrs.insert(
            "runtime",
            conf.runtime()
                .map_or(Value::Null, |r| Value::from(r.as_str())),
        );
        attrs.insert("handler", Value::from(conf.handler().unwrap_or("")));
        attrs.insert("role", Value::from(conf.role().unwrap_or("")));
        attrs.insert("code_sha256", Value::from(conf.code_sha256().unwrap_or("")));
        if let Some(t) = conf.timeout() {
            attrs.insert("timeout_seconds", Value::from(t));
        }
        let mut env: Vec<(String, String)> = conf
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        env.sort();
        attrs.insert("environment", tags_value(env));
        // GetFunction leaves tags out, with a reason, when ListTags is not allowed.
        if let Some(e) = function.tags_error() {
            return Err(Failure::new(
                "GetFunction",
                format!("tags not returned: {}: {}", e.error_code(), e.message()),
            ));
        }
        let mut tag_pairs: Vec<(String, String)> = function
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        tag_pairs.sort();
        attrs.insert("tags", tags_value(tag_pairs));
        attrs.insert("rotation_permission", Value::Bool(permitted));
        Ok(Some(attrs))
    }

    async fn create(&self, ctx: &Ctx<'_>, desired: &Attrs) -> Result<Created, Failure> {
        let package = self.package(ctx, desired)?;
        let lambda = ctx.aws.lambda(ctx.region);
        let out = retry_busy("CreateFunction", || {
            let mut req = lambda
                .create_function()
                .function_name(str_attr(desired, "name"))
                .runtime(Runtime::from(str_attr(desired, "runtime")))
                .handler(str_attr(desired, "handler"))
                .role(str_attr(desired, "role"))
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(package.clone()))
                        .build(),
                )
                .timeout(int_attr(desired, "timeout_seconds").unwrap_or(30) as i32)
                .environment(environment(desired));
            for (k, v) in tags(desired) {
                req = req.tags(k, v);
            }
            async move { req.send().await.map_err(Failure::sdk("CreateFunction")) }
        })
        .await?;
        // A secret's rotation invokes it right away: it must be active first.
        wait_ready(
            ctx,
            out.function_name().unwrap_or(str_attr(desired, "name")),
            true,
        )
        .await?;
        Ok(Created {
            id: out
                .function_name()
                .unwrap_or(str_attr(desired, "name"))
                .to_string(),
            arn: out.function_arn().map(String::from),
            set: &[
                "name",
                "runtime",
                "handler",
                "role",
                "code",
                "code_sha256",
                "timeout_seconds",
                "environment",
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
        let lambda = ctx.aws.lambda(ctx.region);
        let name = recorded.id.as_str();
        let changed = |field: &str| changed.iter().any(|c| c == field);
        if changed("code_sha256") || changed("code") {
            let package = self.package(ctx, desired)?;
            retry_busy("UpdateFunctionCode", || {
                let req = lambda
                    .update_function_code()
                    .function_name(name)
                    .zip_file(Blob::new(package.clone()));
                async move { req.send().await.map_err(Failure::sdk("UpdateFunctionCode")) }
            })
            .await?;
            wait_ready(ctx, name, false).await?;
        }
        if [
            "runtime",
            "handler",
            "role",
            "timeout_seconds",
            "environment",
        ]
        .iter()
        .any(|f| changed(f))
        {
            retry_busy("UpdateFunctionConfiguration", || {
                let req = lambda
                    .update_function_configuration()
                    .function_name(name)
                    .runtime(Runtime::from(str_attr(desired, "runtime")))
                    .handler(str_attr(desired, "handler"))
                    .role(str_attr(desired, "role"))
                    .timeout(int_attr(desired, "timeout_seconds").unwrap_or(30) as i32)
                    .environment(environment(desired));
                async move {
                    req.send()
                        .await
                        .map_err(Failure::sdk("UpdateFunctionConfiguration"))
                }
            })
            .await?;
            wait_ready(ctx, name, false).await?;
        }
        if changed("tags") {
            let arn = recorded.arn.clone().unwrap_or_else(|| name.to_string());
            let wanted = tags(desired);
            let stale = stale_tags(before, &wanted);
            if !stale.is_empty() {
                lambda
                    .untag_resource()
                    .resource(&arn)
                    .set_tag_keys(Some(stale))
                    .send()
                    .await
                    .map_err(Failure::sdk("UntagResource"))?;
            }
            let mut req = lambda.tag_resource().resource(&arn);
            for (k, v) in wanted {
                req = req.tags(k, v);
            }
            req.send().await.map_err(Failure::sdk("TagResource"))?;
        }
        if changed("rotation_permission") {
            self.set_permission(ctx, name, bool_attr(desired, "rotation_permission"))
                .await?;
        }
        Ok(())
    }

    async fn discover(&self, aws: &Aws, regions: &[String]) -> Result<Vec<Discovered>, Failure> {
        in_regions(regions, |region| async move {
            let functions = aws
                .lambda(region)
                .list_functions()
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(Failure::sdk("ListFunctions"))?;
            Ok(functions
                .iter()
                .filter_map(|f| Discovered::named(region, f.function_name(), f.function_arn()))
                .collect())
        })
        .await
    }

    /// Environment values that look like secrets are never shown: one set outside rampart
    /// would otherwise reach plans, drift reports and CI logs.
    fn shown(&self, field: &str, value: &Value) -> Value {
        match (field, value) {
            ("environment", Value::Object(vars)) => Value::Object(
                vars.iter()
                    .map(|(k, v)| {
                        let secret = looks_secret(k, v.as_str().unwrap_or(""));
                        let v = if secret {
                            Value::from("(redacted)")
                        } else {
                            v.clone()
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            _ => value.clone(),
        }
    }

    fn read_access(&self) -> ReadAccess {
        ReadAccess {
            read: &["lambda:GetFunction", "lambda:ListTags", "lambda:GetPolicy"],
            arns: &["arn:aws:lambda:{region}:{account}:function:{name}"],
            any: &[],
            list: &["lambda:ListFunctions"],
        }
    }

    async fn delete(&self, ctx: &Ctx<'_>, recorded: &Recorded) -> Result<(), Failure> {
        match ctx
            .aws
            .lambda(ctx.region)
            .delete_function()
            .function_name(&recorded.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(Failure::sdk("DeleteFunction")(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_package_depends_on_content_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("index.py"), b"def handler(e, c): pass\n").unwrap();
        std::fs::write(dir.path().join("lib/util.py"), b"X = 1\n").unwrap();
        let first = package_hash(&bundle(dir.path()).unwrap());
        // Touching a file (new mtime) changes nothing; changing content does.
        std::fs::write(dir.path().join("lib/util.py"), b"X = 1\n").unwrap();
        assert_eq!(package_hash(&bundle(dir.path()).unwrap()), first);
        std::fs::write(dir.path().join("lib/util.py"), b"X = 2\n").unwrap();
        assert_ne!(package_hash(&bundle(dir.path()).unwrap()), first);
    }

    #[test]
    fn secrets_are_told_from_settings() {
        assert!(looks_secret("DB_PASSWORD", "hunter2"));
        assert!(looks_secret("ANYTHING", "AKIAABCDEFGHIJKLMNOP"));
        assert!(looks_secret("KEY", "-----BEGIN PRIVATE KEY-----"));
        assert!(!looks_secret(
            "SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:1:secret:x"
        ));
        assert!(!looks_secret("LOG_LEVEL", "info"));
        assert!(looks_secret("OPENAI_KEY", "abc"));
        assert!(looks_secret("DB_PASS", "abc"));
        assert!(looks_secret("GITHUB_CREDENTIALS", "abc"));
        assert!(!looks_secret("AUTHOR", "jane"));
    }

    #[test]
    fn secret_looking_environment_values_are_never_shown() {
        let env = serde_json::json!({"DB_PASSWORD": "hunter2", "LOG_LEVEL": "INFO"});
        assert_eq!(
            LambdaFunction.shown("environment", &env),
            serde_json::json!({"DB_PASSWORD": "(redacted)", "LOG_LEVEL": "INFO"})
        );
    }
}
