//! AWS SDK set-up: credentials chain, profile, region, endpoint, retries, and one client per
//! service and region, shared by every resource, each call bounded and counted (`traffic`).

pub mod traffic;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::SharedHttpClient;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

/// How to reach AWS: what the command line and the blueprint say.
#[derive(Debug, Clone)]
pub struct Options {
    pub region: String,
    pub profile: Option<String>,
    /// A role to assume with the loaded credentials first (a new account's
    /// `OrganizationAccountAccessRole`).
    pub role_arn: Option<String>,
    /// The bounds and counters every client shares.
    pub traffic: Arc<traffic::Traffic>,
}

/// Setting up AWS access failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(
        "refusing the plain-http endpoint `{0}`: only loopback addresses may be reached without TLS\n  = hint: use an https:// endpoint"
    )]
    InsecureEndpoint(String),
    #[error(
        "cannot use the CA bundle `{path}` ({origin}): {detail}\n  = hint: point AWS_CA_BUNDLE (or the profile's `ca_bundle`) at a PEM file of CA certificates"
    )]
    CaBundle {
        path: String,
        origin: &'static str,
        detail: String,
    },
    #[error("cannot identify the AWS account with STS GetCallerIdentity: {0}")]
    Identity(String),
    #[error(
        "refusing to touch AWS account {actual}: the blueprint is for account {expected}\n  = hint: use credentials or a `--profile` for account {expected}"
    )]
    WrongAccount { expected: String, actual: String },
}

/// Shared SDK configuration and clients.
pub struct Aws {
    config: SdkConfig,
    http: SharedHttpClient,
    traffic: Arc<traffic::Traffic>,
    loopback_endpoint: bool,
    kms: Mutex<HashMap<String, aws_sdk_kms::Client>>,
    s3: Mutex<HashMap<String, aws_sdk_s3::Client>>,
    guardduty: Mutex<HashMap<String, aws_sdk_guardduty::Client>>,
    iam: Mutex<HashMap<String, aws_sdk_iam::Client>>,
    cloudtrail: Mutex<HashMap<String, aws_sdk_cloudtrail::Client>>,
    lambda: Mutex<HashMap<String, aws_sdk_lambda::Client>>,
    secrets: Mutex<HashMap<String, aws_sdk_secretsmanager::Client>>,
    rds: Mutex<HashMap<String, aws_sdk_rds::Client>>,
    account: tokio::sync::OnceCell<String>,
}

/// One client of a regional service per region, built once, its calls bounded and counted.
macro_rules! regional {
    ($aws:ident, $cache:ident, $sdk:ident, $service:literal, $region:ident, |$b:ident| $more:expr) => {
        cached(&$aws.$cache, $region, || {
            let (http, counter) = $aws.traffic.wiring(&$aws.http, $service, $region);
            let $b = $sdk::config::Builder::from(&$aws.config)
                .region(Region::new($region.to_string()))
                .http_client(http)
                .interceptor(counter);
            $sdk::Client::from_conf($more.build())
        })
    };
}

impl Aws {
    /// Loads configuration the way the AWS CLI does (environment, profiles, SSO, IMDS), with
    /// retries and bounded timeouts so a dead endpoint fails instead of hanging.
    ///
    /// Retries are the SDK's standard mode: five attempts, exponential back-off with full
    /// jitter, and a retry quota. The slowing down under throttling is `traffic`'s, per
    /// service and region, by calls in flight: the SDK's adaptive mode instead caps the send
    /// rate of a service in every region at once, down to a call every two seconds, which
    /// stalls a whole plan over one throttled call.
    pub async fn connect(options: &Options) -> Result<Aws, SetupError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(options.region.clone()))
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    // Counted from when the request is sent, not while it waits for a slot of
                    // `traffic` (an attempt timeout would count that too, and time out calls
                    // that a throttled service's queue holds back).
                    .read_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        // Extra roots beside the system's (a TLS-inspecting proxy's CA), as the AWS CLI takes
        // them; verification itself is never turned off.
        let mut http = aws_smithy_http_client::Builder::new().tls_provider(
            aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::AwsLc,
            ),
        );
        if let Some((path, source)) = ca_bundle(options.profile.as_deref()) {
            let bad = |detail: String| SetupError::CaBundle {
                path: path.display().to_string(),
                origin: source,
                detail,
            };
            let pem = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
            if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                return Err(bad("it holds no PEM certificate".into()));
            }
            let trust =
                aws_smithy_http_client::tls::TrustStore::default().with_pem_certificate(pem);
            let tls = aws_smithy_http_client::tls::TlsContext::builder()
                .with_trust_store(trust)
                .build()
                .map_err(|e| bad(e.to_string()))?;
            http = http.tls_context(tls);
        }
        let http = http.build_https();
        let mut config = loader.http_client(http.clone()).load().await;
        if let Some(role) = &options.role_arn {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .session_name(session_name())
                .configure(&config)
                .build()
                .await;
            config = config
                .into_builder()
                .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                    provider,
                ))
                .build();
        }
        // Names only: credentials are never logged.
        tracing::debug!(
            region = %options.region,
            profile = options.profile.as_deref().unwrap_or("(default chain)"),
            endpoint = config.endpoint_url().unwrap_or("(AWS)"),
            "AWS configuration loaded"
        );
        // The global endpoint and every per-service override (`AWS_ENDPOINT_URL_S3`, ...).
        let overrides: Vec<String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_ENDPOINT_URL_"))
            .map(|(_, v)| v)
            .chain(config.endpoint_url().map(String::from))
            .collect();
        for endpoint in &overrides {
            let (scheme, host) = scheme_and_host(endpoint);
            if scheme.eq_ignore_ascii_case("http") && !is_loopback(host) {
                return Err(SetupError::InsecureEndpoint(endpoint.clone()));
            }
        }
        let loopback_endpoint = config
            .endpoint_url()
            .is_some_and(|e| is_loopback(scheme_and_host(e).1));
        Ok(Aws {
            config,
            http,
            traffic: options.traffic.clone(),
            loopback_endpoint,
            kms: Mutex::new(HashMap::new()),
            s3: Mutex::new(HashMap::new()),
            guardduty: Mutex::new(HashMap::new()),
            iam: Mutex::new(HashMap::new()),
            cloudtrail: Mutex::new(HashMap::new()),
            lambda: Mutex::new(HashMap::new()),
            secrets: Mutex::new(HashMap::new()),
            rds: Mutex::new(HashMap::new()),
            account: tokio::sync::OnceCell::new(),
        })
    }

    pub fn kms(&self, region: &str) -> aws_sdk_kms::Client {
        regional!(self, kms, aws_sdk_kms, "KMS", region, |b| b)
    }

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        // Virtual-host addressing needs DNS for `bucket.host`, which a local endpoint lacks.
        regional!(self, s3, aws_sdk_s3, "S3", region, |b| b
            .force_path_style(self.loopback_endpoint))
    }

    pub fn guardduty(&self, region: &str) -> aws_sdk_guardduty::Client {
        regional!(
            self,
            guardduty,
            aws_sdk_guardduty,
            "GuardDuty",
            region,
            |b| b
        )
    }

    pub fn cloudtrail(&self, region: &str) -> aws_sdk_cloudtrail::Client {
        regional!(
            self,
            cloudtrail,
            aws_sdk_cloudtrail,
            "CloudTrail",
            region,
            |b| b
        )
    }

    pub fn lambda(&self, region: &str) -> aws_sdk_lambda::Client {
        regional!(self, lambda, aws_sdk_lambda, "Lambda", region, |b| b)
    }

    pub fn secrets(&self, region: &str) -> aws_sdk_secretsmanager::Client {
        regional!(
            self,
            secrets,
            aws_sdk_secretsmanager,
            "Secrets Manager",
            region,
            |b| b
        )
    }

    pub fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        regional!(self, rds, aws_sdk_rds, "RDS", region, |b| b)
    }

    /// IAM is global: one client, whatever region the resource records.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        cached(&self.iam, "global", || {
            let (http, counter) = self.traffic.wiring(&self.http, "IAM", "global");
            let conf = aws_sdk_iam::config::Builder::from(&self.config)
                .http_client(http)
                .interceptor(counter)
                .build();
            aws_sdk_iam::Client::from_conf(conf)
        })
    }

    fn sts(&self) -> aws_sdk_sts::Client {
        let region = self.config.region().map(|r| r.as_ref()).unwrap_or("global");
        let (http, counter) = self.traffic.wiring(&self.http, "STS", region);
        let conf = aws_sdk_sts::config::Builder::from(&self.config)
            .http_client(http)
            .interceptor(counter)
            .build();
        aws_sdk_sts::Client::from_conf(conf)
    }

    /// What this run has asked of AWS so far (`--stats`).
    pub fn traffic(&self) -> &traffic::Traffic {
        &self.traffic
    }

    /// The account the credentials belong to, asked of STS once per run.
    pub async fn account_id(&self) -> Result<String, SetupError> {
        self.account
            .get_or_try_init(|| async {
                let out = self
                    .sts()
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| SetupError::Identity(crate::resources::describe_error(&e)))?;
                out.account
                    .ok_or_else(|| SetupError::Identity("the answer named no account".into()))
            })
            .await
            .cloned()
    }

    /// Who the credentials are (a user, a role, an assumed-role session), asked of STS.
    pub async fn caller_arn(&self) -> Result<String, SetupError> {
        let out = self
            .sts()
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| SetupError::Identity(crate::resources::describe_error(&e)))?;
        out.arn
            .ok_or_else(|| SetupError::Identity("the answer named no caller".into()))
    }

    /// Refuses to go on when the blueprint names another account than the credentials'.
    pub async fn check_account(&self, expected: Option<&str>) -> Result<(), SetupError> {
        let Some(expected) = expected else {
            return Ok(());
        };
        let actual = self.account_id().await?;
        if actual != expected {
            return Err(SetupError::WrongAccount {
                expected: expected.to_string(),
                actual,
            });
        }
        Ok(())
    }
}

/// The CA bundle to trust besides the system's: `AWS_CA_BUNDLE`, else the selected profile's
/// `ca_bundle` in the shared config file, as the AWS CLI reads them.
fn ca_bundle(profile: Option<&str>) -> Option<(std::path::PathBuf, &'static str)> {
    if let Some(path) = std::env::var_os("AWS_CA_BUNDLE").filter(|p| !p.is_empty()) {
        return Some((path.into(), "AWS_CA_BUNDLE"));
    }
    let config = std::env::var_os("AWS_CONFIG_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".aws/config"))
        })?;
    let text = std::fs::read_to_string(config).ok()?;
    let profile = profile
        .map(String::from)
        .or_else(|| std::env::var("AWS_PROFILE").ok())
        .unwrap_or_else(|| "default".into());
    profile_setting(&text, &profile, "ca_bundle").map(|p| (p.into(), "the profile's ca_bundle"))
}

/// A setting of one profile in a shared config file (`[default]` or `[profile NAME]`).
fn profile_setting(text: &str, profile: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = section.trim();
            let name = name.strip_prefix("profile ").map(str::trim).unwrap_or(name);
            inside = name == profile;
            continue;
        }
        if inside
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Some(v.trim().to_string());
        }
    }
    None
}

/// The assumed-role session's name, as CloudTrail shows it: rampart and the host it ran on.
fn session_name() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let name: String = format!("rampart-{host}")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(*c))
        .take(64)
        .collect();
    name
}

/// S3 Control's endpoint rules put the account id in front of the host, which a loopback
/// endpoint (the emulator) cannot resolve; there, requests go to the endpoint as given.
#[derive(Debug)]
struct AsGiven(String);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for AsGiven {
    fn resolve_endpoint<'a>(
        &'a self,
        _params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
            aws_sdk_s3control::config::endpoint::Endpoint::builder()
                .url(self.0.clone())
                .build(),
        ))
    }
}

impl Aws {
    /// S3 Control, for account-wide S3 settings.
    pub fn s3control(&self) -> aws_sdk_s3control::Client {
        let region = self.config.region().map(|r| r.as_ref()).unwrap_or("global");
        let (http, counter) = self.traffic.wiring(&self.http, "S3 Control", region);
        let mut conf = aws_sdk_s3control::config::Builder::from(&self.config)
            .http_client(http)
            .interceptor(counter);
        if let Some(url) = self
            .config
            .endpoint_url()
            .filter(|_| self.loopback_endpoint)
        {
            conf = conf.endpoint_resolver(AsGiven(url.to_string()));
        }
        aws_sdk_s3control::Client::from_conf(conf.build())
    }
}

fn cached<C: Clone>(map: &Mutex<HashMap<String, C>>, region: &str, make: impl FnOnce() -> C) -> C {
    let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    map.entry(region.to_string()).or_insert_with(make).clone()
}

fn scheme_and_host(url: &str) -> (&str, &str) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    (scheme, host)
}

/// Loopback names and addresses: `localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profiles_ca_bundle_is_read_from_its_section() {
        let text =
            "[default]\nregion = eu-west-1\n\n[profile corp]\nca_bundle = /etc/corp/ca.pem\n";
        assert_eq!(
            profile_setting(text, "corp", "ca_bundle").as_deref(),
            Some("/etc/corp/ca.pem")
        );
        assert_eq!(profile_setting(text, "default", "ca_bundle"), None);
    }

    #[test]
    fn only_loopback_hosts_count_as_local() {
        for (url, host, local) in [
            ("http://127.0.0.1:5000", "127.0.0.1", true),
            ("http://localhost/", "localhost", true),
            ("http://[::1]:80", "::1", true),
            ("http://127.9.9.9", "127.9.9.9", true),
            ("http://10.0.0.1:4566", "10.0.0.1", false),
            ("http://user@example.com:1", "example.com", false),
            ("http://127.0.0.1.evil.com", "127.0.0.1.evil.com", false),
        ] {
            let (_, h) = scheme_and_host(url);
            assert_eq!(h, host, "{url}");
            assert_eq!(is_loopback(h), local, "{url}");
        }
    }
}
