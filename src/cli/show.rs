//! `rampart show`: print the recorded state.

use std::path::Path;

use anyhow::Context;

use super::{Exit, Global, session};
use crate::render::plan::value;

pub async fn run(global: &Global, path: &Path, json: bool) -> anyhow::Result<Exit> {
    let bp = session::load_blueprint(global, path)?;
    let backend = session::backend(global, &bp).await?;
    let Some(state) = backend.load()? else {
        println!(
            "No state at `{}` yet: nothing was applied.",
            backend.describe()
        );
        return Ok(Exit::Success);
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&state).context("serialising the state")?
        );
        return Ok(Exit::Success);
    }
    println!(
        "State `{}`: blueprint `{}`, serial {}, lineage {}, {} resource{}.",
        backend.describe(),
        state.blueprint,
        state.serial,
        state.lineage,
        state.resources.len(),
        if state.resources.len() == 1 { "" } else { "s" }
    );
    for r in &state.resources {
        println!("\n{} ({}) in {}", r.address, r.id, r.region);
        if let Some(arn) = &r.arn {
            println!("    arn = {arn}");
        }
        let width = r.attributes.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in &r.attributes {
            println!("    {k:<width$} = {}", value(v));
        }
    }
    Ok(Exit::Success)
}
