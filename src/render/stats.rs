//! `--stats`: the cost of a run, as a table on stderr.

use std::fmt::Write;

use super::{Color, Style};
use crate::stats::Report;

pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{}", style.paint(Color::Bold, "Stats"));
    for phase in &report.phases {
        let _ = writeln!(out, "  {:<10} {:>10}", phase.name, duration(phase.seconds));
    }
    let t = &report.total;
    let _ = writeln!(
        out,
        "  AWS calls: {} ({} retries, {} throttled)",
        t.calls, t.retries, t.throttled
    );
    for c in &report.calls {
        let extra = match (c.count.retries, c.count.throttled) {
            (0, 0) => String::new(),
            (r, 0) => format!("  {r} retried"),
            (r, th) => format!("  {r} retried, {th} throttled"),
        };
        let _ = writeln!(
            out,
            "    {:<16} {:<36} {:>6}{extra}",
            c.service, c.operation, c.count.calls
        );
    }
    for s in &report.slowed {
        let _ = writeln!(
            out,
            "  {} in {} throttled: it was given as few as {} call{} at once",
            s.service,
            s.region,
            s.lowest,
            if s.lowest == 1 { "" } else { "s" }
        );
    }
    out
}

fn duration(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else {
        format!("{seconds:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::traffic::Count;
    use crate::stats::{Calls, Phase, Slowed};

    #[test]
    fn the_table_shows_phases_calls_and_throttled_services() {
        let report = Report {
            phases: vec![
                Phase {
                    name: "parse",
                    seconds: 0.0021,
                },
                Phase {
                    name: "refresh",
                    seconds: 1.5,
                },
            ],
            total: Count {
                calls: 7,
                retries: 2,
                throttled: 1,
            },
            calls: vec![Calls {
                service: "kms".into(),
                operation: "DescribeKey".into(),
                count: Count {
                    calls: 7,
                    retries: 2,
                    throttled: 1,
                },
            }],
            slowed: vec![Slowed {
                service: "kms".into(),
                region: "eu-west-1".into(),
                lowest: 5,
            }],
        };
        let text = render(&report, Style { color: false });
        assert!(text.contains("parse"), "{text}");
        assert!(text.contains("2 ms"), "{text}");
        assert!(text.contains("1.50 s"), "{text}");
        assert!(
            text.contains("AWS calls: 7 (2 retries, 1 throttled)"),
            "{text}"
        );
        assert!(text.contains("DescribeKey"), "{text}");
        assert!(text.contains("as few as 5 calls at once"), "{text}");
    }
}
