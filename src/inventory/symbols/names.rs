//! Function names as the Go vulnerability database spells them: a pclntab name such as
//! `golang.org/x/net/http2.(*Server).ServeConn` or `example.com/p%2ev2.Map[...]` becomes the pair
//! (`golang.org/x/net/http2`, `Server.ServeConn`) / (`example.com/p.v2`, `Map`).
//!
//! The rules follow govulncheck's `parseName` (golang/vuln `internal/buildinfo/additions_scan.go`),
//! with two documented differences that only ever add matches the database can name:
//! - generic instantiations lose every bracket group (`Map[...]` → `Map`, `(*Box[…]).Get` →
//!   `Box.Get`), which is how OSV entries list them (govulncheck keeps the brackets and so never
//!   matches a generic function);
//! - on pre-1.20 tables a name starting with `go.` is a package (`go.uber.org/zap.New`) when it has
//!   a `/`; only slash-less `go.`/`type.` names are generated code.
//!
//! GOPATH-era vendored paths (`a/vendor/c/d`) become `c/d`; the standard library's own vendored
//! copies (`vendor/golang.org/x/…`) stay as they are: they are part of the standard library, not of
//! the `golang.org/x/…` module in the build list, exactly as govulncheck treats them.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem;

/// `(package path, symbol)` for a pclntab function name, or `None` for generated code
/// (`go:…`, `type:…`, `type..eq…`) and names without a package. Both halves borrow from `name`
/// unless a rule rewrites them (brackets, `(*T)`, `%xx`, `/vendor/`): a large binary has 100k+
/// names, so the common case allocates nothing.
pub fn normalize(name: &str) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let b = name.as_bytes();
    if b.starts_with(b"go:")
        || b.starts_with(b"type:")
        || b.starts_with(b"type.")
        || (b.starts_with(b"go.") && memchr::memchr(b'/', b).is_none())
    {
        return None;
    }
    match strip_brackets(name) {
        Cow::Borrowed(n) => split(n),
        Cow::Owned(n) => {
            split(&n).map(|(p, s)| (Cow::Owned(p.into_owned()), Cow::Owned(s.into_owned())))
        }
    }
}

/// Split a bracket-free name at the first `.` after the last `/`.
fn split(name: &str) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    let b = name.as_bytes();
    let slash = memchr::memrchr(b'/', b).map_or(0, |s| s + 1);
    let dot = slash + memchr::memchr(b'.', &b[slash..])?;
    let (pkg, rest) = (&name[..dot], &name[dot + 1..]);
    if pkg.is_empty() || rest.is_empty() {
        return None;
    }
    // `(*T).M…` → `T.M…`
    let sym = match rest.strip_prefix("(*").and_then(|r| r.split_once(')')) {
        Some((recv, tail)) => Cow::Owned(format!("{recv}{tail}")),
        None => Cow::Borrowed(rest),
    };
    let pkg = match unescape(pkg) {
        Cow::Borrowed(p) => Cow::Borrowed(devendor(p)),
        Cow::Owned(p) => Cow::Owned(devendor(&p).to_string()),
    };
    Some((pkg, sym))
}

/// Remove every `[…]` group, nested ones included (type arguments and shape names may contain
/// spaces, dots, slashes and brackets).
fn strip_brackets(name: &str) -> Cow<'_, str> {
    if memchr::memchr(b'[', name.as_bytes()).is_none() {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// Undo `objabi.PathToPrefix`: `%xx` → the byte (`example.com/dep%2ev2` → `example.com/dep.v2`).
fn unescape(pkg: &str) -> Cow<'_, str> {
    if memchr::memchr(b'%', pkg.as_bytes()).is_none() {
        return Cow::Borrowed(pkg);
    }
    let b = pkg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).map_or(Cow::Borrowed(pkg), Cow::Owned)
}

/// GOPATH-era `a/b/vendor/c/d` → `c/d`; a leading `vendor/` (the standard library's copies) stays.
fn devendor(pkg: &str) -> &str {
    // Almost no path has one: the forward (vectorised) search rules it out first.
    static ANY: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"/vendor/"));
    static LAST: LazyLock<memmem::FinderRev<'static>> =
        LazyLock::new(|| memmem::FinderRev::new(b"/vendor/"));
    if ANY.find(pkg.as_bytes()).is_none() {
        return pkg;
    }
    match LAST.rfind(pkg.as_bytes()) {
        Some(i) => &pkg[i + "/vendor/".len()..],
        None => pkg,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    fn n(s: &str) -> Option<(String, String)> {
        normalize(s).map(|(p, s)| (p.into_owned(), s.into_owned()))
    }
    fn p(pkg: &str, sym: &str) -> Option<(String, String)> {
        Some((pkg.into(), sym.into()))
    }

    #[test]
    fn govulncheck_table() {
        // The examples of go-pclntab.md §8 (govulncheck's parseName), plus the database's
        // convention for generics.
        assert_eq!(
            n("net/http.(*Transport).RoundTrip"),
            p("net/http", "Transport.RoundTrip")
        );
        assert_eq!(
            n("gopkg.in/yaml%2ev3.Unmarshal"),
            p("gopkg.in/yaml.v3", "Unmarshal")
        );
        assert_eq!(n("example.com/p.F.func1"), p("example.com/p", "F.func1"));
        assert_eq!(n("example.com/p.Map[...]"), p("example.com/p", "Map"));
        assert_eq!(n("main.(*value[int]).get"), p("main", "value.get"));
        assert_eq!(
            n("runtime.(*itabTableType).add-fm"),
            p("runtime", "itabTableType.add-fm")
        );
        assert_eq!(n("type:.eq.[9]debug/elf.intName"), None);
        assert_eq!(n("type..eq.[...]runtime.Frame"), None);
        assert_eq!(n("go:buildid"), None);
        assert_eq!(n("go.buildid"), None);
        assert_eq!(n("go.uber.org/zap.New"), p("go.uber.org/zap", "New"));
        assert_eq!(
            n(
                "internal/runtime/atomic.(*Pointer[go.shape.struct { runtime.lfnode; x [2]int }]).Load"
            ),
            p("internal/runtime/atomic", "Pointer.Load")
        );
        assert_eq!(
            n("golang.org/x/net/http2.(*serverConn).processHeaders.func1"),
            p("golang.org/x/net/http2", "serverConn.processHeaders.func1")
        );
        assert_eq!(
            n("crypto/internal/entropy/v1%2e0%2e0.Seed"),
            p("crypto/internal/entropy/v1.0.0", "Seed")
        );
        assert_eq!(
            n("vendor/golang.org/x/net/http2/hpack.(*Decoder).Write"),
            p("vendor/golang.org/x/net/http2/hpack", "Decoder.Write")
        );
        assert_eq!(n("a/b/vendor/c/d.F"), p("c/d", "F"));
        assert_eq!(n("nodot"), None);
        assert_eq!(n("x/y."), None);
        assert_eq!(n("bad%zz.F"), p("bad%zz", "F"));
    }
}
