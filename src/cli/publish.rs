//! `provguard publish` and `provguard mirror`: the release workflow step (a checked local release
//! into a registry, SBOMs attached) and the copy of a provider version between registries.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};

use super::{MirrorArgs, PublishArgs, PushArgs};
use crate::registry::{ClientOptions, OciTarget};
use crate::release::local;
use crate::release::publish::{Plan, parse_destination, publish};
use crate::release::{Outcome, mirror};

/// Registry options for the destination (explicit credentials go there only).
fn push_options(p: &PushArgs) -> Result<ClientOptions> {
    super::client_options(&p.connect, &p.cache_dir)
}

fn print(outcome: &Outcome, json: bool) -> Result<()> {
    let body = if json {
        outcome.render_json()
    } else {
        outcome.render_text().into_bytes()
    };
    super::Dest::Stdout.write(&body, "publish")
}

/// `--sbom PLATFORM=FILE` pairs.
fn sbom_files(list: &[String]) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for s in list {
        let (p, f) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("--sbom {s}: expected OS_ARCH=FILE"))?;
        if out.insert(p.to_string(), PathBuf::from(f)).is_some() {
            bail!("--sbom: {p} given twice");
        }
    }
    Ok(out)
}

pub fn run_publish(args: &PublishArgs) -> Result<u8> {
    let (host, repo) = parse_destination(&args.to)?;
    let opts = push_options(&args.push)?;
    let release = local::read(
        &args.dist,
        args.version.as_deref(),
        true,
        &args.push.connect.platforms,
    )?;
    let files = sbom_files(&args.sbom)?;
    for p in files.keys() {
        if !release.packages.iter().any(|k| &k.platform() == p) {
            bail!("--sbom {p}=…: the release has no {p} ZIP");
        }
    }
    let mut sboms = BTreeMap::new();
    for pkg in &release.packages {
        let docs = match files.get(&pkg.platform()) {
            Some(f) => vec![local::from_file(pkg, f, args.allow_drift)?],
            None => local::generated(pkg, args.sbom_format),
        };
        sboms.insert(pkg.platform(), docs);
    }
    let plan = Plan {
        release: &release,
        sboms,
    };
    let outcome = publish(&plan, &host, &repo, &opts, &args.mount_from, args.dry_run)
        .with_context(|| format!("publishing to {}", args.to))?;
    print(&outcome, args.json)?;
    Ok(0)
}

pub fn run_mirror(args: &MirrorArgs) -> Result<u8> {
    let (host, repo) = parse_destination(&args.dest)?;
    let dest_opts = push_options(&args.push)?;
    let outcome = if args.source.starts_with("oci://") {
        let src = OciTarget::parse(&args.source)?;
        // The source is read with the auth files only: --username is for the destination.
        let src_opts = ClientOptions {
            credentials: Default::default(),
            ..dest_opts.clone()
        };
        mirror::mirror_oci(
            &src,
            &src_opts,
            &mirror::MirrorTo {
                host: &host,
                repo: &repo,
                opts: &dest_opts,
                platforms: &args.push.connect.platforms,
                generate: args.generate_sboms.then_some(args.sbom_format),
                dry_run: args.dry_run,
            },
        )?
    } else {
        let release = local::read(
            &[PathBuf::from(&args.source)],
            args.version.as_deref(),
            false,
            &args.push.connect.platforms,
        )?;
        let sboms = release
            .packages
            .iter()
            .map(|p| {
                let docs = if args.generate_sboms {
                    local::generated(p, args.sbom_format)
                } else {
                    Vec::new()
                };
                (p.platform(), docs)
            })
            .collect();
        let plan = Plan {
            release: &release,
            sboms,
        };
        publish(&plan, &host, &repo, &dest_opts, &[], args.dry_run)?
    };
    print(&outcome, args.json)?;
    Ok(0)
}
