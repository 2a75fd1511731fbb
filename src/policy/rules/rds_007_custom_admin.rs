//! RMP-RDS-007: RDS instances do not use a default admin name.

use crate::policy::{Breach, Check, Controls, Level, Rule};

pub static RULE: Rule = Rule {
    id: "RMP-RDS-007",
    title: "RDS instances do not use a default admin name",
    level: Level::Medium,
    kinds: &["rds_instance"],
    rationale: "Default administrator names (`postgres`, `admin`, `root`) are the first ones brute-force attacks try; a custom name is half of the credential an attacker must guess. rampart refuses them when it parses a blueprint; this rule finds them in a live account.",
    fix: "Choose another `master_username`; for an existing database, restore from a snapshot with a new name.",
    controls: Controls {
        seed: &["No shared accounts, everyone has individual login"],
        cis: &[],
        fsbp: &["RDS.25"],
        frameworks: &["SOC 2 CC6.1"],
    },
    check: Check::Resource(|s, _| {
        let name = s.attr("master_username")?.as_str()?;
        crate::resources::is_default_admin(name).then(|| Breach {
            field: Some("master_username"),
            message: format!("`master_username` is `{name}`, an engine default"),
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
        holds(&RULE, "rds_instance.analytics");
    }

    #[test]
    fn breaks_with_a_default_name() {
        breaks(
            &RULE,
            "rds_instance.analytics",
            &[("master_username", json!("postgres"))],
            Some("master_username"),
        );
    }
}
