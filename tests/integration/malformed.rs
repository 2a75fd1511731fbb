//! Hostile blueprints never panic: truncations, type swaps and garbage bytes all end in a
//! readable error (exit 1) or, where the damage happens to leave a valid file, success.

use crate::support::{Project, repo};

fn example() -> Vec<u8> {
    std::fs::read(repo().join("blueprints/data-platform.toml")).unwrap()
}

/// A small deterministic generator, so a failure can be reproduced from its index.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Damages the example in one of several ways, chosen by the generator.
fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = base.to_vec();
    match rng.below(5) {
        0 => out.truncate(rng.below(base.len())),
        1 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(out.len());
                out[i] = rng.next() as u8;
            }
        }
        2 => {
            let text = String::from_utf8_lossy(&out).into_owned();
            let swaps = [
                ("true", "\"yes\""),
                ("365", "3.65"),
                ("= \"", "= ["),
                ("kms_key.", "s3_bucket."),
                ("2190", "-1"),
                ("[s3_bucket.", "[[s3_bucket."),
                ("\"", ""),
                ("=", "=="),
            ];
            let (from, to) = swaps[rng.below(swaps.len())];
            let n = text.matches(from).count().max(1);
            let mut seen = 0;
            let pick = rng.below(n);
            let mut s = String::new();
            let mut rest = text.as_str();
            while let Some(i) = rest.find(from) {
                s.push_str(&rest[..i]);
                s.push_str(if seen == pick { to } else { from });
                seen += 1;
                rest = &rest[i + from.len()..];
            }
            s.push_str(rest);
            out = s.into_bytes();
        }
        3 => {
            let at = rng.below(out.len());
            let junk: Vec<u8> = (0..1 + rng.below(40)).map(|_| rng.next() as u8).collect();
            out.splice(at..at, junk);
        }
        _ => {
            let a = rng.below(out.len());
            let b = rng.below(out.len());
            let (a, b) = (a.min(b), a.max(b));
            out.drain(a..b);
        }
    }
    out
}

#[test]
fn the_parser_survives_many_thousands_of_damaged_blueprints() {
    let base = example();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for i in 0..20_000 {
        let input = mutate(&base, &mut rng);
        let result = std::panic::catch_unwind(|| {
            rampart::blueprint::parse(std::path::Path::new("x.toml"), &input)
        });
        match result {
            Err(_) => panic!(
                "input {i} panicked the parser: {:?}",
                String::from_utf8_lossy(&input)
            ),
            Ok(Err(diags)) => {
                assert!(
                    !diags.is_empty(),
                    "input {i}: an error without a diagnostic"
                );
                for d in diags {
                    assert!(
                        d.position.line >= 1 && d.position.column >= 1,
                        "input {i}: {d}"
                    );
                }
            }
            Ok(Ok(_)) => {}
        }
    }
}

#[test]
fn the_binary_answers_damaged_blueprints_with_exit_1_and_a_located_error() {
    let base = example();
    let mut rng = Rng(0xbad_c0de_0000_0042);
    let p = Project::new("malformed", "");
    let mut failures = 0;
    for i in 0..150 {
        let input = mutate(&base, &mut rng);
        std::fs::write(p.blueprint(), &input).unwrap();
        let run = p.rampart("validate", &[]);
        let err = run.stderr();
        assert!(
            matches!(run.code(), 0 | 1),
            "input {i}: exit {}\n{err}",
            run.code()
        );
        assert!(!err.contains("panicked"), "input {i}: {err}");
        if run.code() == 1 {
            failures += 1;
            let located = format!("{}:", p.blueprint().display());
            assert!(
                // A syntax or schema error, or a hardening rule the damage broke.
                (err.contains("error:") || err.contains("error[RMP-")) && err.contains(&located),
                "input {i}: {err}"
            );
        } else {
            // Damage can leave a valid file (a cut at a line end); then it must really be one.
            assert!(
                rampart::blueprint::parse(&p.blueprint(), &input).is_ok(),
                "input {i} was accepted but does not parse"
            );
        }
    }
    assert!(
        failures > 100,
        "the corpus should be mostly broken: {failures} of 150"
    );
}
