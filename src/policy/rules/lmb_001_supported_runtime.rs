//! RMP-LMB-001: Lambda functions use a supported runtime.

use crate::policy::{Breach, Check, Controls, Level, Rule};

/// Runtimes past AWS's deprecation date.
const DEPRECATED: &[&str] = &[
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "dotnetcore3.1",
    "dotnet6",
    "ruby2.7",
    "go1.x",
    "provided",
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
        DEPRECATED.contains(&runtime).then(|| Breach {
            field: Some("runtime"),
            message: format!("`runtime` is {runtime}, which AWS no longer patches"),
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
