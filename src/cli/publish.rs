//! `provguard publish` and `provguard mirror`: the release workflow step (a checked local release
//! into a registry, SBOMs attached) and the copy of a provider version into a registry — from
//! another OCI registry, local files, or a provider address (registry protocol, network mirror).

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
        signature: None,
    };
    let outcome = publish(&plan, &host, &repo, &opts, &args.mount_from, args.dry_run)
        .with_context(|| format!("publishing to {}", args.to))?;
    print(&outcome, args.json)?;
    Ok(0)
}

pub fn run_mirror(args: &MirrorArgs) -> Result<u8> {
    let (host, repo) = parse_destination(&args.dest)?;
    let dest_opts = push_options(&args.push)?;
    let is_address = !args.source.starts_with("oci://")
        && !std::path::Path::new(&args.source).exists()
        && args.source.contains('/')
        && args.source.split('/').count() <= 3;
    let outcome = if is_address {
        let constraint = args.version.as_deref().ok_or_else(|| {
            anyhow!(
                "{}: a provider address needs --version (exact, or a constraint such as '~> 5.0')",
                args.source
            )
        })?;
        // The origin is read with the CLI configuration's credentials: --username is for the
        // destination.
        let src = crate::source::SourceOptions {
            registry: ClientOptions {
                credentials: Default::default(),
                ..dest_opts.clone()
            },
            platforms: args.push.connect.platforms.clone(),
            version: Some(constraint.to_string()),
            ..Default::default()
        };
        mirror::mirror_address(
            &args.source,
            constraint,
            &src,
            &mirror::MirrorTo {
                host: &host,
                repo: &repo,
                opts: &dest_opts,
                platforms: &args.push.connect.platforms,
                generate: Some(args.sbom_format),
                dry_run: args.dry_run,
            },
        )
        .with_context(|| format!("mirroring {} to {}", args.source, args.dest))?
    } else if args.source.starts_with("oci://") {
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
            signature: None,
        };
        publish(&plan, &host, &repo, &dest_opts, &[], args.dry_run)?
    };
    print(&outcome, args.json)?;
    Ok(0)
}
