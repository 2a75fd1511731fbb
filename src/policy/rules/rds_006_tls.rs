//! RMP-RDS-006: RDS instances refuse connections without TLS.

use super::on;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-006",
    title: "RDS instances refuse connections without TLS",
    level: Level::High,
    kinds: &["rds_instance"],
    rationale: "Without `rds.force_ssl` (PostgreSQL) or `require_secure_transport` (MySQL), clients may connect in plain text, exposing queries, results and passwords.",
    fix: "Leave `force_tls` out, or set it to `true`.",
    controls: Controls {
        seed: &["All database connections use TLS 1.2+"],
        cis: &[],
        fsbp: &[],
        frameworks: &["HIPAA 164.312(e)(1)", "GDPR Art. 32", "SOC 2 CC6.7"],
    },
    check: Check::Resource(|s, _| on(s, "force_tls")),
};

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::policy::rules::testing::{breaks, holds};
    use serde_json::json;

    #[test]
    fn the_example_complies() {
        holds(&RULE, "rds_instance.analytics");
    }

    #[test]
    fn breaks_without_it() {
        breaks(
            &RULE,
            "rds_instance.analytics",
            &[("force_tls", json!(false))],
            Some("force_tls"),
        );
    }
}
