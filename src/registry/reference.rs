//! Image references (`HOST[:PORT]/REPO[:TAG][@DIGEST]`) parsed by hand, to the grammar of
//! distribution's `reference` package as oci-spec implements it — the same references
//! accepted, split and defaulted (`docker.io`, `library/`, `latest`) — without its regular
//! expression: compiling that expression costs about 70 ms of CPU per process (half of a warm
//! `audit`), and matching it a PikeVM run per reference. One deliberate difference: a tag is
//! ASCII (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`), as in distribution's Go grammar, where
//! oci-spec's Unicode `\w` also takes other letters.

use oci_client::Reference;

/// A repository name's longest length.
const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Parse `s` as oci-spec's `Reference::try_from` does (see the module note on tags).
pub fn parse(s: &str) -> Result<Reference, String> {
    if s.is_empty() {
        return Err("repository name must have at least one component".into());
    }
    let invalid = || "invalid reference format".to_string();
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    let last_slash = rest.rfind('/');
    let (name, tag) = match rest.rfind(':') {
        Some(c) if last_slash.is_none_or(|sl| c > sl) => (&rest[..c], Some(&rest[c + 1..])),
        _ => (rest, None),
    };
    if !valid_name(name) || tag.is_some_and(|t| !valid_tag(t)) {
        return Err(invalid());
    }
    if let Some(d) = digest {
        check_digest(d)?;
    }
    let (registry, repository) = split_domain(name);
    if repository.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(format!(
            "repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        ));
    }
    let tag = match (tag, digest) {
        (None, None) => Some("latest"),
        (t, _) => t,
    };
    Ok(match (tag, digest) {
        (Some(t), Some(d)) => {
            Reference::with_tag_and_digest(registry, repository, t.to_string(), d.to_string())
        }
        (Some(t), None) => Reference::with_tag(registry, repository, t.to_string()),
        (None, Some(d)) => Reference::with_digest(registry, repository, d.to_string()),
        (None, None) => unreachable!("a tag is defaulted above"),
    })
}

/// `[domain/]path(/path)*`: every component a path component, or a domain first.
fn valid_name(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    let paths_from = |i: usize| parts[i..].iter().all(|p| path_component(p));
    paths_from(0) || (parts.len() >= 2 && domain(parts[0]) && paths_from(1))
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or any number of `-`.
fn path_component(p: &str) -> bool {
    let b = p.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &b[start..i];
        let ok = matches!(sep, b"." | b"_" | b"__") || sep.iter().all(|&c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `label(.label)*[:digits]`, a label being ASCII letters and digits with inner hyphens.
fn domain(d: &str) -> bool {
    let (host, port) = match d.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit())) {
        return false;
    }
    host.split('.').all(|l| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

fn valid_tag(t: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b[1..].iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `ALGORITHM:HEX`, the algorithm one of sha256/384/512 with its length of hex.
fn check_digest(d: &str) -> Result<(), String> {
    let Some((alg, hex)) = d.split_once(':') else {
        return Err("invalid reference format".into());
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|c| c.is_ascii_alphanumeric())
    });
    if !alg_ok || hex.len() < 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err("invalid reference format".into());
    }
    let want = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err("unsupported digest algorithm".into()),
    };
    if hex.len() != want {
        return Err("invalid checksum digest length".into());
    }
    Ok(())
}

/// distribution's `splitDomain`: a first component with `.` or `:` (or `localhost`) is the
/// registry, else Docker Hub, whose one-component names live under `library/`.
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut rest) = match name.split_once('/') {
        Some((l, r)) if l.contains('.') || l.contains(':') || l == "localhost" => {
            (l.to_string(), r.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    if domain == "index.docker.io" {
        domain = "docker.io".into();
    }
    if domain == "docker.io" && !rest.contains('/') {
        rest = format!("library/{rest}");
    }
    (domain, rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What oci-spec's regex-based parser makes of `s`, as comparable parts (`None`: refused).
    fn reference_of(r: &Reference) -> (String, String, Option<String>, Option<String>) {
        (
            r.registry().to_string(),
            r.repository().to_string(),
            r.tag().map(str::to_string),
            r.digest().map(str::to_string),
        )
    }

    fn agree(s: &str) {
        let ours = parse(s).ok().map(|r| reference_of(&r));
        let theirs = Reference::try_from(s).ok().map(|r| reference_of(&r));
        assert_eq!(ours, theirs, "{s:?}");
    }

    #[test]
    fn agrees_with_oci_spec_on_hand_picked_references() {
        let hex = "a".repeat(64);
        for s in [
            "busybox",
            "test.com:tag",
            "test.com:5000",
            "test.com/repo:tag",
            "test:5000/repo",
            "test:5000/repo:tag",
            "lowercase:Uppercase",
            "Uppercase:tag",
            "foo_bar.com:8080",
            "foo/foo_bar.com:8080",
            "127.0.0.1:5000/acme/demo:1.2.3",
            "127.0.0.1:5000/acme/demo:1.2.3_build.1",
            "localhost/x",
            "localhost:5000/x:y",
            "index.docker.io/x",
            "docker.io/library/hello-world:latest",
            "ghcr.io/a/b/c/d:v1",
            "a__b/c",
            "a___b/c",
            "a---b/c",
            "a-.b/c",
            "a._b",
            "-a/b",
            "a-/b",
            "a/b-",
            "host-/x",
            "-host.com/x",
            "h..com/x",
            "h.com:/x",
            "h.com:12a/x",
            "h.com:1/x",
            "x:",
            ":x",
            "x:-a",
            "x:_a",
            "x:.a",
            "x/",
            "/x",
            "x//y",
            "x@",
            "@x",
            "",
            "a:b:c",
            "a:b/c",
            "a@b@c",
        ] {
            agree(s);
        }
        for d in [
            format!("sha256:{hex}"),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha512:{}", "a".repeat(128)),
            format!("sha384:{}", "b".repeat(96)),
            format!("md5:{}", "a".repeat(32)),
            format!("sha256:{}", "g".repeat(64)),
            format!("sha256+x:{hex}"),
            "sha256:abc".to_string(),
        ] {
            agree(&format!("h.com/x@{d}"));
            agree(&format!("h.com/x:1.0@{d}"));
        }
        agree(&format!("h.com/{}", "a".repeat(255)));
        agree(&format!("h.com/{}", "a".repeat(256)));
        agree(&format!("x:{}", "t".repeat(128)));
        agree(&format!("x:{}", "t".repeat(129)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Differential: strings from the grammar's alphabet, near-misses included.
        #[test]
        fn agrees_with_oci_spec_on_generated_references(
            s in "[a-zA-Z0-9._:/@+-]{0,40}",
        ) {
            agree(&s);
        }

        #[test]
        fn agrees_with_oci_spec_on_generated_structured_references(
            host in "(localhost|[a-z0-9-]{1,6}(\\.[a-zA-Z0-9-]{1,6}){0,2})(:[0-9]{0,5})?",
            path in "[a-z0-9]{1,4}([._-]{0,3}[a-z0-9]{1,4}){0,2}(/[a-z0-9]{1,4}([._-]{0,2}[a-z0-9]{1,4})?){0,2}",
            tag in "(:[a-zA-Z0-9_.-]{0,10})?",
            digest in "(@sha(256|512):[0-9a-f]{64})?",
        ) {
            agree(&format!("{host}/{path}{tag}{digest}"));
        }
    }
}
