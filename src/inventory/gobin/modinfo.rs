//! The modinfo text Go embeds in every module-aware binary, parsed exactly as
//! `runtime/debug.ParseBuildInfo` does, and printed back exactly as `go version -m` prints it.
//!
//! Grammar (tab-separated, one record per line): `path`, `mod`, `dep` (2 or 3 columns), `=>`
//! (exactly 3 columns, replaces the module on the line before), `build key=value` with Go
//! `strconv` quoting. Unknown lines are ignored, as Go does.

use std::fmt::Write as _;

/// A module as Go records it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GoModule {
    pub path: String,
    pub version: String,
    pub sum: String,
    pub replace: Option<Box<GoModule>>,
}

impl GoModule {
    /// The module that was actually compiled in: the replacement when there is one.
    pub fn effective(&self) -> &GoModule {
        self.replace.as_deref().unwrap_or(self)
    }
}

/// `runtime/debug.BuildInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildInfo {
    /// As stored, including suffixes such as ` X:boringcrypto`.
    pub go_version: String,
    pub path: String,
    pub main: GoModule,
    pub deps: Vec<GoModule>,
    pub settings: Vec<(String, String)>,
}

impl BuildInfo {
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The text `go version -m FILE` prints, without its first `FILE: goversion` line (and
    /// without the blank line Go 1.19 adds after each `=>` line).
    pub fn go_version_m(&self) -> String {
        let mut out = String::new();
        if !self.path.is_empty() {
            let _ = writeln!(out, "\tpath\t{}", self.path);
        }
        fn module(out: &mut String, word: &str, m: &GoModule) {
            let _ = write!(out, "\t{word}\t{}\t{}", m.path, m.version);
            match &m.replace {
                None => {
                    let _ = writeln!(out, "\t{}", m.sum);
                }
                Some(r) => {
                    out.push('\n');
                    module(out, "=>", r);
                }
            }
        }
        if self.main != GoModule::default() {
            module(&mut out, "mod", &self.main);
        }
        for d in &self.deps {
            module(&mut out, "dep", d);
        }
        for (k, v) in &self.settings {
            let k = if quote_key(k) { quote(k) } else { k.clone() };
            let v = if quote_value(v) { quote(v) } else { v.clone() };
            let _ = writeln!(out, "\tbuild\t{k}={v}");
        }
        out
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed modinfo, line {line}: {msg}")]
pub struct ModinfoError {
    pub line: usize,
    pub msg: String,
}

fn quote_key(k: &str) -> bool {
    k.is_empty() || k.contains(['=', ' ', '\t', '\r', '\n', '"', '`'])
}

fn quote_value(v: &str) -> bool {
    v.contains([' ', '\t', '\r', '\n', '"', '`'])
}

/// `strconv.Quote` for the characters that occur in build settings.
pub fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\x07' => o.push_str("\\a"),
            '\x08' => o.push_str("\\b"),
            '\x0c' => o.push_str("\\f"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            '\x0b' => o.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(o, "\\x{:02x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The length of the Go-quoted string at the start of `s` (`strconv.QuotedPrefix`).
fn quoted_prefix(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let q = *b.first()?;
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            c if c == q => return Some(i + 1),
            b'\\' if q == b'"' => i += 2,
            b'\n' if q == b'"' => return None,
            _ => i += 1,
        }
    }
    None
}

/// `strconv.Unquote` for double-quoted and back-quoted strings.
pub fn unquote(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    match b[0] {
        b'`' => (!inner.contains('`')).then(|| inner.replace('\r', "")),
        b'"' => {
            let mut out = Vec::with_capacity(inner.len());
            let ib = inner.as_bytes();
            let mut i = 0;
            while i < ib.len() {
                let c = ib[i];
                if c == b'"' || c == b'\n' {
                    return None;
                }
                if c != b'\\' {
                    out.push(c);
                    i += 1;
                    continue;
                }
                let e = *ib.get(i + 1)?;
                i += 2;
                let simple = match e {
                    b'a' => Some(7),
                    b'b' => Some(8),
                    b'f' => Some(12),
                    b'n' => Some(b'\n'),
                    b'r' => Some(b'\r'),
                    b't' => Some(b'\t'),
                    b'v' => Some(11),
                    b'\\' => Some(b'\\'),
                    b'"' => Some(b'"'),
                    b'\'' => Some(b'\''),
                    _ => None,
                };
                if let Some(v) = simple {
                    out.push(v);
                    continue;
                }
                let (digits, radix) = match e {
                    b'x' => (2, 16),
                    b'u' => (4, 16),
                    b'U' => (8, 16),
                    b'0'..=b'7' => {
                        i -= 1;
                        (3, 8)
                    }
                    _ => return None,
                };
                let hex = inner.get(i..i + digits)?;
                let v = u32::from_str_radix(hex, radix).ok()?;
                i += digits;
                if e == b'x' || radix == 8 {
                    out.push(u8::try_from(v).ok()?);
                } else {
                    let ch = char::from_u32(v)?;
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
            }
            String::from_utf8(out).ok()
        }
        _ => None,
    }
}

fn module_line(cols: &[&str], line: usize) -> Result<GoModule, ModinfoError> {
    if cols.len() != 2 && cols.len() != 3 {
        return Err(ModinfoError {
            line,
            msg: format!("expected 2 or 3 columns; got {}", cols.len()),
        });
    }
    Ok(GoModule {
        path: cols[0].to_string(),
        version: cols[1].to_string(),
        sum: cols.get(2).map(|s| s.to_string()).unwrap_or_default(),
        replace: None,
    })
}

#[derive(Clone, Copy)]
enum Last {
    None,
    Main,
    Dep(usize),
}

/// Parse modinfo (sentinels already stripped) as `debug.ParseBuildInfo` does.
pub fn parse(go_version: &str, data: &str) -> Result<BuildInfo, ModinfoError> {
    let mut bi = BuildInfo {
        go_version: go_version.to_string(),
        ..Default::default()
    };
    let mut last = Last::None;
    let mut rest = data;
    let mut n = 0;
    while let Some((line, tail)) = rest.split_once('\n') {
        rest = tail;
        n += 1;
        let err = |msg: String| ModinfoError { line: n, msg };
        if let Some(p) = line.strip_prefix("path\t") {
            bi.path = p.to_string();
        } else if let Some(m) = line.strip_prefix("mod\t") {
            let cols: Vec<&str> = m.split('\t').collect();
            bi.main = module_line(&cols, n)?;
            last = Last::Main;
        } else if let Some(d) = line.strip_prefix("dep\t") {
            let cols: Vec<&str> = d.split('\t').collect();
            bi.deps.push(module_line(&cols, n)?);
            last = Last::Dep(bi.deps.len() - 1);
        } else if let Some(r) = line.strip_prefix("=>\t") {
            let cols: Vec<&str> = r.split('\t').collect();
            if cols.len() != 3 {
                return Err(err(format!(
                    "expected 3 columns for replacement; got {}",
                    cols.len()
                )));
            }
            let rep = Box::new(GoModule {
                path: cols[0].to_string(),
                version: cols[1].to_string(),
                sum: cols[2].to_string(),
                replace: None,
            });
            match last {
                Last::None => {
                    return Err(err("replacement with no module on previous line".into()));
                }
                Last::Main => bi.main.replace = Some(rep),
                Last::Dep(i) => bi.deps[i].replace = Some(rep),
            }
            last = Last::None;
        } else if let Some(kv) = line.strip_prefix("build\t") {
            let (key, raw_value) = match kv.as_bytes().first() {
                None => return Err(err("build line missing '='".into())),
                Some(b'=') => return Err(err("build line with missing key".into())),
                Some(b'`' | b'"') => {
                    let qlen = quoted_prefix(kv).ok_or_else(|| err("invalid quoted key".into()))?;
                    let key =
                        unquote(&kv[..qlen]).ok_or_else(|| err("invalid quoted key".into()))?;
                    let after = &kv[qlen..];
                    match after.strip_prefix('=') {
                        Some(v) => (key, v),
                        None if after.is_empty() => {
                            return Err(err("build line missing '='".into()));
                        }
                        None => {
                            return Err(err("unexpected character after quoted key".into()));
                        }
                    }
                }
                Some(_) => {
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| err("build line missing '=' after key".into()))?;
                    if quote_key(k) {
                        return Err(err(format!("unquoted key {k:?} must be quoted")));
                    }
                    (k.to_string(), v)
                }
            };
            let value = match raw_value.as_bytes().first() {
                None => String::new(),
                Some(b'`' | b'"') => unquote(raw_value)
                    .ok_or_else(|| err(format!("invalid value for build line {key}")))?,
                Some(_) => {
                    if quote_value(raw_value) {
                        return Err(err(format!("unquoted value {raw_value:?} must be quoted")));
                    }
                    raw_value.to_string()
                }
            };
            bi.settings.push((key, value));
        }
    }
    Ok(bi)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "path\texample.com/demo\nmod\texample.com/demo\t(devel)\t\ndep\texample.com/dep\tv0.0.0\n=>\t./dep\t(devel)\t\n\ndep\tgolang.org/x/crypto\tv0.4.0\th1:abc=\nbuild\t-compiler=gc\nbuild\t-ldflags=\"-X main.version=1.2.3 -s\"\nbuild\t\"we=ird\"=`v`\nbuild\tCGO_ENABLED=0\nbuild\tvcs.modified=false\n";

    #[test]
    fn parses_full_grammar() {
        let bi = parse("go1.19.8", SAMPLE).unwrap();
        assert_eq!(bi.path, "example.com/demo");
        assert_eq!(bi.main.version, "(devel)");
        assert_eq!(bi.deps.len(), 2);
        let r = bi.deps[0].replace.as_ref().unwrap();
        assert_eq!((r.path.as_str(), r.version.as_str()), ("./dep", "(devel)"));
        assert_eq!(bi.deps[1].sum, "h1:abc=");
        assert_eq!(bi.setting("-ldflags"), Some("-X main.version=1.2.3 -s"));
        assert_eq!(bi.setting("we=ird"), Some("v"));
        assert_eq!(bi.setting("CGO_ENABLED"), Some("0"));
    }

    #[test]
    fn prints_like_go_version_m() {
        let bi = parse("go1.19.8", SAMPLE).unwrap();
        let text = bi.go_version_m();
        assert!(text.starts_with("\tpath\texample.com/demo\n\tmod\texample.com/demo\t(devel)\t\n"));
        assert!(text.contains("\tdep\texample.com/dep\tv0.0.0\n\t=>\t./dep\t(devel)\t\n"));
        assert!(text.contains("\tbuild\t-ldflags=\"-X main.version=1.2.3 -s\"\n"));
        assert!(text.contains("\tbuild\t\"we=ird\"=v\n"));
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(parse("go", "=>\ta\tb\tc\n").unwrap_err().line, 1);
        assert!(parse("go", "dep\tonlyone\n").is_err());
        assert!(parse("go", "mod\ta\tb\n=>\tx\ty\n").is_err());
        assert!(parse("go", "build\t=x\n").is_err());
        assert!(parse("go", "build\tk=a b\n").is_err());
        assert!(parse("go", "build\t\"k\"x\n").is_err());
    }

    #[test]
    fn quoting_round_trips() {
        for s in ["a b", "tab\there", "q\"uote", "nl\nx", "\u{1}"] {
            assert_eq!(unquote(&quote(s)).as_deref(), Some(s));
        }
        assert_eq!(unquote("\"\\x41\\u00e9\\101\"").as_deref(), Some("AéA"));
        assert_eq!(unquote("`raw\\n`").as_deref(), Some("raw\\n"));
        assert_eq!(unquote("\"bad"), None);
    }
}
