//! `rampart import BLUEPRINT ADDRESS ID`: record an existing resource under a blueprint
//! address, as bootstrap does for what it finds, so that the next plan updates it instead of
//! creating a second one.

use std::path::Path;

use anyhow::{Context, bail};

use super::session::{Session, load_blueprint};
use super::{Exit, Global};
use crate::resources::{self, Ctx};
use crate::state::Recorded;

pub async fn run(global: &Global, path: &Path, address: &str, id: &str) -> anyhow::Result<Exit> {
    let bp = load_blueprint(global, path)?;
    let Some(r) = bp.resource(address).cloned() else {
        let known: Vec<&str> = bp.resources.iter().map(|r| r.address.as_str()).collect();
        let hint = crate::blueprint::diagnostic::did_you_mean(address, known.iter().copied())
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| "declare it in the blueprint first".into());
        bail!(
            "`{address}` is not in the blueprint `{}`\n  = hint: {hint}",
            path.display()
        );
    };
    let mut session = Session::open(global, bp, "import").await?;
    if let Some(rec) = session.state.get(address) {
        bail!(
            "`{address}` is already in the state, as `{}`\n  = hint: nothing to import; `rampart plan` shows its differences",
            rec.id
        );
    }
    let kind = resources::kind(r.kind).context("the blueprint's kinds are all known")?;
    let region = session.bp.region_of(&r).to_string();
    // Listing finds the resource with its ARN, which references to it need.
    let aws = session.aws().await?;
    let listed = kind
        .discover(aws, std::slice::from_ref(&region))
        .await
        .map_err(|f| anyhow::anyhow!("cannot look for `{id}`: {f}"))?;
    let Some(found) = listed.into_iter().find(|d| d.id == id) else {
        bail!(
            "there is no {} `{id}` in {region}\n  = hint: give the physical id (bucket name, key id, trail name, detector id, role, function, secret or DB name)",
            r.kind
        );
    };
    let mut rec = Recorded {
        address: address.to_string(),
        kind: r.kind.to_string(),
        id: found.id,
        arn: found.arn,
        region: region.clone(),
        attributes: Default::default(),
        dependencies: r.dependencies.clone(),
        prevent_destroy: r.prevent_destroy,
    };
    let ctx = Ctx {
        aws,
        region: &region,
        address,
        base_dir: session.base_dir(),
        token: None,
    };
    let attrs = kind
        .read(&ctx, &rec, Some(&r.attrs))
        .await
        .map_err(|f| anyhow::anyhow!("cannot read `{id}`: {f}"))?
        .with_context(|| format!("`{id}` disappeared while it was imported"))?;
    if let Some(owner) =
        resources::tag(&attrs, "rampart:blueprint").filter(|o| *o != session.bp.name)
    {
        bail!("`{id}` is managed by blueprint `{owner}`; one blueprint must own it");
    }
    rec.attributes = attrs;
    session.state.upsert(rec);
    session.state.serial += 1;
    session.backend.save(&session.state)?;
    println!(
        "Imported {} `{id}` as `{address}`. `rampart plan` shows what it takes to match the blueprint.",
        r.kind
    );
    Ok(Exit::Success)
}
