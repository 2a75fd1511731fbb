//! Test harness: one emulator per test run, unique names per test, and helpers to run the
//! real binary and read AWS back with the SDK.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::{BehaviorVersion, Region};

const REGION: &str = "eu-west-1";

/// The emulator every test shares; tests keep apart by unique names, never by resets.
pub struct Emulator {
    pub endpoint: String,
    // Held open for the life of the test process: the launcher exits when it closes.
    _stdin: Option<ChildStdin>,
    _child: Option<Child>,
}

pub fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| {
        if let Ok(endpoint) = std::env::var("RAMPART_TEST_ENDPOINT") {
            return Emulator {
                endpoint,
                _stdin: None,
                _child: None,
            };
        }
        start_emulator(&[])
    })
}

/// An emulator of the test's own, for tests that read a whole account (`audit`): nothing
/// other tests make shows up in it. It stops when the value is dropped.
pub fn private_emulator() -> Emulator {
    start_emulator(&[])
}

/// An emulator of the test's own serving HTTPS with a certificate from a test CA it makes in
/// `dir` (`ca.pem`), as a TLS-inspecting proxy would.
pub fn tls_emulator(dir: &Path) -> Emulator {
    let mut e = start_emulator(&["--tls", dir.to_str().expect("utf-8 path")]);
    e.endpoint = e.endpoint.replace("http://", "https://");
    e
}

fn start_emulator(extra: &[&str]) -> Emulator {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "the emulator is not installed: run `scripts/test` (or `scripts/emulator install`)"
    );
    let mut child = Command::new(python)
        .arg(root.join("tests/emulator.py"))
        .arg("0")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the emulator");
    let stdout = child.stdout.take().expect("emulator stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the emulator's ready line");
    let port = line
        .trim()
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("the emulator did not start: {line:?}"));
    Emulator {
        endpoint: format!("http://127.0.0.1:{port}"),
        _stdin: child.stdin.take(),
        _child: Some(child),
    }
}

/// A name no other test of this run uses, usable in bucket names and aliases.
pub fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "t{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A working directory with a blueprint, where the binary runs as a user would run it.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub prefix: String,
    /// Hardening rules this test's blueprint breaks on purpose, as (rule, resource).
    waivers: std::cell::RefCell<Vec<(String, String)>>,
    /// The emulator the binary talks to: the shared one unless `on` says otherwise.
    endpoint: String,
}

impl Project {
    /// A project with `blueprint` text, where `acme-` names and the blueprint name are made
    /// unique to this test.
    pub fn new(tag: &str, blueprint: &str) -> Project {
        let prefix = unique(tag);
        let project = Project {
            dir: tempfile::tempdir().expect("tempdir"),
            prefix,
            waivers: Default::default(),
            endpoint: emulator().endpoint.clone(),
        };
        project.write(blueprint);
        project
    }

    /// A project with a copy of `blueprints/data-platform.toml` and its Lambda code, for
    /// tests that never reach AWS.
    pub fn example_offline(tag: &str) -> Project {
        let text = std::fs::read_to_string(repo().join("blueprints/data-platform.toml"))
            .expect("read the example blueprint");
        let p = Project::new(tag, &text);
        copy_dir(
            &repo().join("blueprints/lambda"),
            &p.dir.path().join("lambda"),
        );
        p
    }

    /// The example, with GuardDuty regions of its own: detectors are one per region and
    /// account, all tests share one emulator account, and a detector of another blueprint is
    /// (rightly) never adopted.
    pub fn example(tag: &str) -> Project {
        const POOL: [&str; 12] = [
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "eu-west-2",
            "eu-west-3",
            "eu-north-1",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-south-1",
            "ap-northeast-3",
            "eu-south-1",
        ];
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(
            2 * n + 1 < POOL.len(),
            "add regions to the pool in support::Project::example"
        );
        let p = Project::example_offline(tag);
        p.edit(
            "regions = [\"eu-west-1\", \"eu-central-1\"]",
            &format!("regions = [\"{}\", \"{}\"]", POOL[2 * n], POOL[2 * n + 1]),
        );
        p
    }

    /// The project, talking to `emulator` instead of the shared one.
    pub fn on(self, emulator: &Emulator) -> Project {
        self.at(&emulator.endpoint)
    }

    /// The project, talking to AWS at `endpoint` (a fault proxy in front of an emulator).
    pub fn at(mut self, endpoint: &str) -> Project {
        self.endpoint = endpoint.to_string();
        self
    }

    /// Rewrites the blueprint, keeping this project's unique names and waivers.
    pub fn write(&self, blueprint: &str) {
        let mut text = self.localise(blueprint);
        for (rule, resource) in self.waivers.borrow().iter() {
            text.push_str(&waiver(rule, resource));
        }
        std::fs::write(self.blueprint(), text).expect("write blueprint");
    }

    /// Waives a hardening rule for a resource the test makes insecure on purpose: the test is
    /// about something else (hardening has tests of its own). Kept across `write`s.
    pub fn waive(&self, rule: &str, resource: &str) -> &Project {
        self.waivers
            .borrow_mut()
            .push((rule.to_string(), resource.to_string()));
        let mut text = self.text();
        text.push_str(&waiver(rule, resource));
        std::fs::write(self.blueprint(), text).expect("write blueprint");
        self
    }

    /// Gives `acme-` names and the example's blueprint name this project's unique prefix.
    fn localise(&self, text: &str) -> String {
        text.replace("acme-", &format!("{}-", self.prefix)).replace(
            "name = \"data-platform\"",
            &format!("name = \"{}\"", self.prefix),
        )
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(self.blueprint()).expect("read blueprint")
    }

    /// Replaces the whole of the first line holding `needle` with `line` (which may be
    /// several lines); `acme-` names in both are this project's.
    pub fn edit(&self, needle: &str, line: &str) {
        let (needle, line) = (self.localise(needle), self.localise(line));
        let text = self.text();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let at = lines
            .iter()
            .position(|l| l.contains(&needle))
            .unwrap_or_else(|| panic!("blueprint has no line with {needle:?}"));
        lines[at] = line;
        std::fs::write(self.blueprint(), lines.join("\n") + "\n").expect("write blueprint");
    }

    pub fn blueprint(&self) -> PathBuf {
        self.dir.path().join("blueprint.toml")
    }

    /// A bucket name as the blueprint's `acme-NAME` became for this project.
    pub fn bucket(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir
            .path()
            .join("state")
            .join(format!("{}.json", self.prefix))
    }

    pub fn state(&self) -> serde_json::Value {
        let bytes = std::fs::read(self.state_path()).expect("read state");
        serde_json::from_slice(&bytes).expect("state is JSON")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.state_path().with_extension("json.lock")
    }

    /// Starts `apply` without `--auto-approve` and returns once it holds the lock: it then
    /// waits at its prompt (or is about to) with stdin open.
    pub fn apply_waiting_at_prompt(&self) -> Child {
        let bp = self.blueprint();
        let child = self
            .command(&["apply", bp.to_str().expect("utf-8 path")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rampart apply");
        let lock = self.lock_path();
        wait_for("the state lock", || lock.exists());
        child
    }

    /// Runs the binary in the project directory against the emulator.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run rampart");
        Run(output)
    }

    /// The binary as a command, for tests that need to drive it (stdin, signals).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rampart"));
        cmd.current_dir(self.dir.path())
            .args(args)
            .stdin(Stdio::null())
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("RAMPART_LOG");
        cmd
    }

    /// `rampart ARGS... BLUEPRINT`.
    pub fn rampart(&self, command: &str, flags: &[&str]) -> Run {
        let bp = self.blueprint();
        let mut args = vec![command, bp.to_str().expect("utf-8 path")];
        args.extend_from_slice(flags);
        self.run(&args)
    }
}

fn waiver(rule: &str, resource: &str) -> String {
    format!(
        "\n[[waiver]]\nrule = \"{rule}\"\nresource = \"{resource}\"\nreason = \"this test is about the engine, not hardening\"\nexpires = \"2099-12-31\"\n"
    )
}

/// Copies a directory tree (the example's Lambda code beside a test's blueprint).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory");
    for entry in std::fs::read_dir(from).expect("read a directory") {
        let entry = entry.expect("read a directory entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy a file");
        }
    }
}

/// Polls `done` until it holds, failing the test after 30 seconds.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The result of one run of the binary.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Asserts the exit code, showing both streams when it is not the expected one.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}

/// SDK configuration for reading the emulator back in `region`.
pub async fn sdk_config_in(region: &str) -> aws_config::SdkConfig {
    sdk_config_at(&emulator().endpoint, region).await
}

/// SDK configuration for the emulator at `endpoint`, in `region`.
pub async fn sdk_config_at(endpoint: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_string()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_in(REGION).await
}

pub async fn s3() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&sdk_config().await)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

pub async fn kms() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config().await)
}

/// S3 Control at the emulator `endpoint`, without the account-id host prefix that a loopback
/// endpoint cannot resolve.
pub async fn s3control_at(endpoint: &str) -> aws_sdk_s3control::Client {
    #[derive(Debug)]
    struct AsGiven(String);
    impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for AsGiven {
        fn resolve_endpoint<'a>(
            &'a self,
            _: &'a aws_sdk_s3control::config::endpoint::Params,
        ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
            aws_sdk_s3control::config::endpoint::EndpointFuture::ready(Ok(
                aws_sdk_s3control::config::endpoint::Endpoint::builder()
                    .url(self.0.clone())
                    .build(),
            ))
        }
    }
    let conf = aws_sdk_s3control::config::Builder::from(&sdk_config_at(endpoint, REGION).await)
        .endpoint_resolver(AsGiven(endpoint.to_string()))
        .build();
    aws_sdk_s3control::Client::from_conf(conf)
}
