//! RMP-LMB-001: Lambda functions use a supported runtime.

use crate::policy::{Breach, Check, Controls, Level, Rule};

/// Runtimes and the day AWS stopped (or stops) patching them, from its published Lambda
/// runtime deprecation schedule; a runtime is judged by today's date.
const DEPRECATED: &[(&str, &str)] = &[
    ("python2.7", "2021-07-15"),
    ("python3.6", "2022-07-18"),
    ("python3.7", "2023-12-04"),
    ("python3.8", "2024-10-14"),
    ("python3.9", "2025-12-15"),
    ("nodejs10.x", "2021-07-30"),
    ("nodejs12.x", "2023-03-31"),
    ("nodejs14.x", "2023-12-04"),
    ("nodejs16.x", "2024-06-12"),
    ("nodejs18.x", "2025-09-01"),
    ("nodejs20.x", "2026-04-30"),
    ("java8", "2024-01-08"),
    ("dotnetcore3.1", "2023-04-03"),
    ("dotnet6", "2024-12-20"),
    ("ruby2.7", "2023-12-07"),
    ("ruby3.2", "2026-03-31"),
    ("go1.x", "2024-01-08"),
    ("provided", "2024-01-08"),
];

pub static RULE: Rule = Rule {
    id: "RMP-LMB-001",
    title: "Lambda functions use a supported runtime",
    level: Level::Medium,
    kinds: &["lambda_function"],
    rationale: "Deprecated runtimes get no security patches, and AWS eventually blocks updates to functions that use them.",
    fix: "Move the function to a supported runtime, e.g. `python3.12` or `nodejs22.x`.",
    controls: Controls {
        seed: &["Vulnerability scanning"],
        cis: &[],
        fsbp: &["Lambda.2"],
        frameworks: &["SOC 2 CC7.1"],
    },
    check: Check::Resource(|s, _| {
        let runtime = s.attr("runtime")?.as_str()?;
        let today = crate::policy::evaluate::today().to_string();
        let (_, since) = DEPRECATED
            .iter()
            .find(|(r, since)| *r == runtime && today.as_str() >= *since)?;
        Some(Breach {
            field: Some("runtime"),
            message: format!("`runtime` is {runtime}, which AWS stopped patching on {since}"),
        })
    }),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "lambda_function.rotate_api_key");
    }

    #[test]
    fn breaks_with_a_deprecated_runtime() {
        breaks(
            &RULE,
            "lambda_function.rotate_api_key",
            &[("runtime", json!("python3.7"))],
            Some("runtime"),
        );
    }
}
