//! RMP-RDS-002: RDS instances are not publicly accessible.

use super::off;
use crate::policy::{Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-002",
    title: "RDS instances are not publicly accessible",
    level: Level::Critical,
    kinds: &["rds_instance"],
    rationale: "A public endpoint puts the database's login prompt on the internet; databases belong in private subnets, reached from inside the VPC.",
    fix: "Leave `publicly_accessible` out, or set it to `false`.",
    controls: Controls {
        seed: &["VPC with private subnets for databases"],
        cis: &["2.3.3"],
        fsbp: &["RDS.2"],
        frameworks: &["GDPR Art. 32", "HIPAA 164.312(e)(1)", "SOC 2 CC6.6"],
    },
    check: Check::Resource(|s, _| off(s, "publicly_accessible")),
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
    fn breaks_when_public() {
        breaks(
            &RULE,
            "rds_instance.analytics",
            &[("publicly_accessible", json!(true))],
            Some("publicly_accessible"),
        );
    }
}
