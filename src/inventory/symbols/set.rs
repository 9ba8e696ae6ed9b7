//! The symbol set of one Go image, built for speed on large binaries and exact on lookup.
//!
//! A provider holds 100k–200k function names, and a scan looks up a few dozen. So the set keeps
//! the raw pclntab names in one byte buffer and indexes each distinct normalised
//! `(package, symbol)` pair by a 64-bit hash of its spelling: no string is allocated per name
//! (the few thousand distinct package paths are spelt out in a second buffer, also hashed). A lookup hashes the query, then re-normalises the stored name and compares
//! it exactly, so two pairs sharing a hash can never be confused (the rare second one is kept in a
//! short list that lookups also search). The ordered view ([`SymbolSet::sorted`]) is built only
//! for display.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hasher};

use rustc_hash::{FxBuildHasher, FxHasher};

use super::SymbolKind;
use super::names;

/// Where one kept name sits in [`SymbolSet::text`], and how its pair is present.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start: u32,
    len: u32,
    kind: SymbolKind,
}

/// A hasher that passes an already-computed 64-bit hash through.
#[derive(Default, Clone, Copy)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed with it.
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

#[derive(Default, Clone, Copy)]
struct PassThroughBuild;

impl BuildHasher for PassThroughBuild {
    type Hasher = PassThrough;
    fn build_hasher(&self) -> PassThrough {
        PassThrough(0)
    }
}

type ByHash = HashMap<u64, u32, PassThroughBuild>;

/// The distinct `(package, symbol)` pairs of one image.
#[derive(Debug, Clone, Default)]
pub struct SymbolSet {
    text: Vec<u8>,
    entries: Vec<Entry>,
    /// pair hash → entry index (the first pair with that hash).
    pairs: ByHash,
    /// Entries whose pair hash was already taken by a different pair.
    pair_clashes: Vec<u32>,
    /// The distinct normalised package paths (a few thousand at most), spelt out in one buffer:
    /// package hash → index into `package_spans` (clashes as for pairs).
    package_text: Vec<u8>,
    package_spans: Vec<(u32, u32)>,
    packages: ByHash,
    package_clashes: Vec<u32>,
}

impl std::fmt::Debug for PassThroughBuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassThroughBuild")
    }
}

#[cfg(test)]
thread_local! {
    /// Tests: every hash is 0, so that every lookup goes through the clash lists.
    static ALL_CLASH: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn clash_all() -> bool {
    #[cfg(test)]
    return ALL_CLASH.with(std::cell::Cell::get);
    #[cfg(not(test))]
    false
}

fn hash_pair(pkg: &str, sym: &str) -> u64 {
    if clash_all() {
        return 0;
    }
    let mut h = FxBuildHasher.build_hasher();
    h.write(pkg.as_bytes());
    h.write_u8(0xff);
    h.write(sym.as_bytes());
    h.finish()
}

fn hash_package(pkg: &str) -> u64 {
    if clash_all() {
        return 0;
    }
    let mut h: FxHasher = FxBuildHasher.build_hasher();
    h.write(pkg.as_bytes());
    h.finish()
}

/// A raw name as text (invalid UTF-8 replaced, as Go's tools print it).
fn as_text(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(raw),
    }
}

impl SymbolSet {
    /// Add raw pclntab names of one kind; a pair already present as a `Function` stays one.
    pub fn add<'a>(&mut self, raw_names: impl Iterator<Item = &'a [u8]>, kind: SymbolKind) {
        for raw in raw_names {
            self.add_one(raw, kind);
        }
    }

    /// Add one raw name; its entry (new or the pair's existing one), or `None` for generated
    /// code and names without a package.
    pub fn add_one(&mut self, raw: &[u8], kind: SymbolKind) -> Option<u32> {
        self.add_text(&as_text(raw), kind)
    }

    /// [`SymbolSet::add_one`] of a name already known to be text (the raw bytes are its UTF-8).
    fn add_text(&mut self, name: &str, kind: SymbolKind) -> Option<u32> {
        let (pkg, sym) = names::normalize(name)?;
        let ph = hash_pair(&pkg, &sym);
        let first = self.pairs.get(&ph).copied();
        if let Some(i) = first {
            let found = if self.pair_is(i, &pkg, &sym) {
                Some(i)
            } else {
                self.find_clash(&pkg, &sym)
            };
            if let Some(j) = found {
                let e = &mut self.entries[j as usize];
                e.kind = e.kind.min(kind);
                return Some(j);
            }
        }
        // Over 4 GiB of names is not a real table: the rest is left out.
        let start = u32::try_from(self.text.len()).ok()?;
        let len = u32::try_from(name.len()).ok()?;
        let idx = u32::try_from(self.entries.len()).ok()?;
        self.text.extend_from_slice(name.as_bytes());
        self.entries.push(Entry { start, len, kind });
        match first {
            None => {
                self.pairs.insert(ph, idx);
            }
            Some(_) => self.pair_clashes.push(idx),
        }
        // Names come grouped by package: most are the last package seen again.
        let last = self.package_spans.len().checked_sub(1);
        if last.is_none_or(|l| self.package(l as u32) != pkg.as_bytes()) {
            self.add_package(&pkg, hash_package(&pkg));
        }
        Some(idx)
    }

    fn package(&self, i: u32) -> &[u8] {
        let (start, len) = self.package_spans[i as usize];
        &self.package_text[start as usize..(start + len) as usize]
    }

    fn find_package(&self, pkg: &str, kh: u64) -> bool {
        match self.packages.get(&kh) {
            Some(&i) => {
                self.package(i) == pkg.as_bytes()
                    || self
                        .package_clashes
                        .iter()
                        .any(|&c| self.package(c) == pkg.as_bytes())
            }
            None => false,
        }
    }

    fn add_package(&mut self, pkg: &str, kh: u64) {
        if self.find_package(pkg, kh) {
            return;
        }
        let (Ok(start), Ok(len), Ok(idx)) = (
            u32::try_from(self.package_text.len()),
            u32::try_from(pkg.len()),
            u32::try_from(self.package_spans.len()),
        ) else {
            return;
        };
        self.package_text.extend_from_slice(pkg.as_bytes());
        self.package_spans.push((start, len));
        match self.packages.entry(kh) {
            std::collections::hash_map::Entry::Occupied(_) => self.package_clashes.push(idx),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(idx);
            }
        }
    }

    /// Mark entry `i` as a function of its own.
    fn mark_function(&mut self, i: u32) {
        if let Some(e) = self.entries.get_mut(i as usize) {
            e.kind = SymbolKind::Function;
        }
    }

    fn raw(&self, i: u32) -> &[u8] {
        let e = &self.entries[i as usize];
        &self.text[e.start as usize..(e.start + e.len) as usize]
    }

    /// `f` of entry `i`'s normalised pair (borrowed unless a rule rewrites the name).
    fn with_pair<R>(&self, i: u32, f: impl FnOnce(&str, &str) -> R) -> Option<R> {
        let name = as_text(self.raw(i));
        names::normalize(&name).map(|(p, s)| f(&p, &s))
    }

    fn pair_is(&self, i: u32, pkg: &str, sym: &str) -> bool {
        self.with_pair(i, |p, s| p == pkg && s == sym) == Some(true)
    }

    fn find_clash(&self, pkg: &str, sym: &str) -> Option<u32> {
        self.pair_clashes
            .iter()
            .copied()
            .find(|&c| self.pair_is(c, pkg, sym))
    }

    /// How `sym` of `pkg` is present, if it is.
    pub fn get(&self, pkg: &str, sym: &str) -> Option<SymbolKind> {
        let i = match self.pairs.get(&hash_pair(pkg, sym)) {
            Some(&i) if self.pair_is(i, pkg, sym) => i,
            Some(_) => self.find_clash(pkg, sym)?,
            None => return None,
        };
        Some(self.entries[i as usize].kind)
    }

    /// Is any function of `pkg` present?
    pub fn has_package(&self, pkg: &str) -> bool {
        self.find_package(pkg, hash_package(pkg))
    }

    /// Number of distinct pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every package and its symbols, in order (for display and comparison).
    pub fn sorted(&self) -> BTreeMap<String, BTreeMap<String, SymbolKind>> {
        let mut out: BTreeMap<String, BTreeMap<String, SymbolKind>> = BTreeMap::new();
        for i in 0..self.entries.len() as u32 {
            let kind = self.entries[i as usize].kind;
            self.with_pair(i, |p, s| {
                out.entry(p.to_string())
                    .or_default()
                    .insert(s.to_string(), kind);
            });
        }
        out
    }
}

/// Every name of a 1.16+ `funcnametab` in a [`SymbolSet`], all first as inline-only, built as
/// soon as the table has streamed by (a few kilobytes at a time, in the scanning thread's idle
/// moments while the rest of the file still inflates: [`NameBuilder`]);
/// [`NameTable::into_set`] then marks the names that function records point at.
pub struct NameTable {
    set: SymbolSet,
    /// Offset of every non-empty name, ascending, and its entry (`u32::MAX`: generated code).
    starts: Vec<u32>,
    entries: Vec<u32>,
    table_len: usize,
}

/// A [`NameTable`] built in steps over the same `funcnametab` bytes, so that the work fits in
/// another thread's gaps instead of needing a thread (and a core) of its own; it can start while
/// the table is still streaming in (only whole names are taken).
pub struct NameBuilder {
    t: NameTable,
    /// Offset of the next name to add.
    at: usize,
}

impl NameBuilder {
    /// A builder for a table of `len` bytes.
    pub fn new(len: usize) -> NameBuilder {
        // The table's length comes from a header that may lie.
        let len = len.min(crate::artifact::stream::RESERVE_CAP);
        // Names average ~50-70 bytes in real tables.
        let count = len / 48 + 1;
        let mut set = SymbolSet::default();
        set.pairs.reserve(count);
        set.entries.reserve(count);
        set.text.reserve(len);
        NameBuilder {
            t: NameTable {
                set,
                starts: Vec::with_capacity(count),
                entries: Vec::with_capacity(count),
                table_len: 0,
            },
            at: 0,
        }
    }

    /// Add the names that start in the next `budget` bytes of `names`: the table so far
    /// (`complete` once all of it is in), the same bytes on every call. Only names whose NUL
    /// has arrived are taken while the table is incomplete. `true` if any work was done.
    pub fn step(&mut self, names: &[u8], budget: usize, complete: bool) -> bool {
        // Bytes of whole names available.
        let avail = if complete {
            names.len()
        } else {
            match memchr::memrchr(0, names) {
                Some(i) => i + 1,
                None => return false,
            }
        };
        let stop = self.at.saturating_add(budget).min(avail);
        if self.at >= stop {
            return false;
        }
        // The span up to the end of the last name starting before `stop`.
        let end = memchr::memchr(0, &names[stop - 1..]).map_or(names.len(), |e| stop - 1 + e);
        self.add_names(&names[self.at..end]);
        self.at = end + 1;
        true
    }

    /// The table, adding whatever names of the complete table `names` are left.
    pub fn finish(mut self, names: &[u8]) -> NameTable {
        self.step(names, usize::MAX, true);
        self.t.table_len = names.len();
        self.t
    }

    /// Add every NUL-separated name of `span` (which starts at `self.at`). The span is checked
    /// as UTF-8 once (NUL is ASCII, so every name inside valid text is valid text); otherwise
    /// each name is checked alone (replacement characters would shift the offsets).
    fn add_names(&mut self, span: &[u8]) {
        let text = std::str::from_utf8(span).ok();
        let base = self.at;
        let mut at = 0usize;
        while at < span.len() {
            let end = memchr::memchr(0, &span[at..]).map_or(span.len(), |e| at + e);
            if end > at {
                self.t.starts.push((base + at) as u32);
                let e = match text {
                    Some(t) => self.t.set.add_text(&t[at..end], SymbolKind::Inlined),
                    None => self.t.set.add_one(&span[at..end], SymbolKind::Inlined),
                };
                self.t.entries.push(e.unwrap_or(u32::MAX));
            }
            at = end + 1;
        }
    }
}

impl NameTable {
    pub fn build(names: &[u8]) -> NameTable {
        NameBuilder::new(names.len()).finish(names)
    }

    /// The set, with the names at `function_names` (the function records' name offsets) marked
    /// as functions; an offset that is not the start of a name is an error.
    pub fn into_set(mut self, function_names: &[u32]) -> Result<SymbolSet, String> {
        // Sorted, then one merge walk along `starts` (ascending) instead of a search per name.
        let mut offs = function_names.to_vec();
        offs.sort_unstable();
        offs.dedup();
        let mut i = 0usize;
        for o in offs {
            while self.starts.get(i).is_some_and(|&s| s < o) {
                i += 1;
            }
            if self.starts.get(i) != Some(&o) {
                return Err(format!(
                    "function name offset {o} is not the start of a name in funcnametab ({} bytes)",
                    self.table_len
                ));
            }
            if let Some(&e) = self.entries.get(i).filter(|&&e| e != u32::MAX) {
                self.set.mark_function(e);
            }
        }
        Ok(self.set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str], kind: SymbolKind) -> SymbolSet {
        let mut s = SymbolSet::default();
        s.add(names.iter().map(|n| n.as_bytes()), kind);
        s
    }

    #[test]
    fn lookups_are_exact_and_kinds_merge() {
        let mut s = set(
            &[
                "net/http.(*Transport).RoundTrip",
                "net/http.(*Transport).RoundTrip",
                "example.com/p.Map[go.shape.int]",
                "example.com/p.Map[go.shape.string]",
                "go:buildid",
            ],
            SymbolKind::Function,
        );
        s.add(
            ["net/http.(*Transport).RoundTrip", "a/b.inl"]
                .map(str::as_bytes)
                .into_iter(),
            SymbolKind::Inlined,
        );
        assert_eq!(s.len(), 3);
        assert_eq!(
            s.get("net/http", "Transport.RoundTrip"),
            Some(SymbolKind::Function)
        );
        assert_eq!(s.get("a/b", "inl"), Some(SymbolKind::Inlined));
        assert_eq!(s.get("example.com/p", "Map"), Some(SymbolKind::Function));
        assert_eq!(s.get("net/http", "Transport"), None);
        assert_eq!(s.get("net/htt", "p.Transport.RoundTrip"), None);
        assert!(s.has_package("example.com/p") && s.has_package("a/b"));
        assert!(!s.has_package("example.com") && !s.has_package("a"));
        let sorted = s.sorted();
        assert_eq!(sorted.len(), 3);
        assert_eq!(
            sorted["net/http"]["Transport.RoundTrip"],
            SymbolKind::Function
        );
    }

    #[test]
    fn hash_clashes_never_confuse_two_pairs() {
        // Every pair and every package hashes to 0: lookups must still be exact.
        ALL_CLASH.with(|c| c.set(true));
        let mut s = set(&["a/b.F", "a/b.G", "c/d.F", "a/b.F"], SymbolKind::Inlined);
        s.add(
            ["c/d.F"].map(str::as_bytes).into_iter(),
            SymbolKind::Function,
        );
        ALL_CLASH.with(|c| c.set(false));
        assert_eq!((s.pairs.len(), s.pair_clashes.len()), (1, 2));
        ALL_CLASH.with(|c| c.set(true));
        assert_eq!(s.len(), 3);
        assert_eq!(s.get("a/b", "F"), Some(SymbolKind::Inlined));
        assert_eq!(s.get("a/b", "G"), Some(SymbolKind::Inlined));
        assert_eq!(s.get("c/d", "F"), Some(SymbolKind::Function));
        assert_eq!(s.get("c/d", "G"), None);
        assert!(s.has_package("a/b") && s.has_package("c/d") && !s.has_package("e/f"));
        ALL_CLASH.with(|c| c.set(false));
    }

    #[test]
    fn name_table_marks_functions_and_refuses_offsets_inside_names() {
        let tab = b"a/b.F\0a/b.(*T).M\0go:buildid\0a/b.T.M\0";
        let t = NameTable::build(tab);
        let s = NameTable::build(tab).into_set(&[0, 6]).unwrap();
        assert_eq!(s.get("a/b", "F"), Some(SymbolKind::Function));
        assert_eq!(s.get("a/b", "T.M"), Some(SymbolKind::Function));
        assert_eq!(s.len(), 2);
        let only_inlined = NameTable::build(tab).into_set(&[]).unwrap();
        assert_eq!(only_inlined.get("a/b", "F"), Some(SymbolKind::Inlined));
        // The generated-code name can be a function record's name: no entry, no error.
        assert!(NameTable::build(tab).into_set(&[17]).is_ok());
        let e = t.into_set(&[0, 2]).unwrap_err();
        assert!(e.contains("offset 2 is not the start of a name"), "{e}");
    }

    /// The one-shot build as it was before the incremental builder: every name by offset, added
    /// one by one.
    fn reference(tab: &[u8]) -> NameTable {
        let mut t = NameTable {
            set: SymbolSet::default(),
            starts: Vec::new(),
            entries: Vec::new(),
            table_len: tab.len(),
        };
        let mut at = 0usize;
        for raw in tab.split(|&b| b == 0) {
            if !raw.is_empty() {
                t.starts.push(at as u32);
                let e = t.set.add_one(raw, SymbolKind::Inlined);
                t.entries.push(e.unwrap_or(u32::MAX));
            }
            at += raw.len() + 1;
        }
        t
    }

    use proptest::prelude::*;

    /// Name pieces that exercise every normalising rule, plus bytes that are not UTF-8.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"a/b.F".to_vec()),
            Just(b"a/b.(*T).M".to_vec()),
            Just(b"a/b.T.M".to_vec()),
            Just(b"x/y%2ev2.Map[go.shape.int]".to_vec()),
            Just(b"x/y.v2.Map[...]".to_vec()),
            Just(b"c/vendor/d/e.G".to_vec()),
            Just(b"go:buildid".to_vec()),
            Just(b"type:.eq.x".to_vec()),
            Just(b"main.main".to_vec()),
            Just(b"p\xff\xfeq.R".to_vec()),
            Just(b"\xe2\x82".to_vec()),
            proptest::collection::vec(any::<u8>().prop_filter("no NUL", |b| *b != 0), 0..12),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]

        /// Built in steps as the bytes arrive (any cut points, any budgets), the table equals
        /// the one-shot build: same offsets, same entries, same set, same marking.
        #[test]
        fn stepwise_build_equals_one_shot(
            pieces in proptest::collection::vec(piece(), 0..40),
            cuts in proptest::collection::vec(0usize..2000, 0..8),
            budget in 1usize..64,
            marks in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
        ) {
            let mut tab = Vec::new();
            for p in &pieces {
                tab.extend_from_slice(p);
                tab.push(0);
            }
            let want = reference(&tab);
            let mut b = NameBuilder::new(tab.len());
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(tab.len())).collect();
            cuts.sort_unstable();
            for c in cuts {
                while b.step(&tab[..c], budget, c == tab.len()) {}
            }
            let got = b.finish(&tab);
            prop_assert_eq!(&got.starts, &want.starts);
            prop_assert_eq!(&got.entries, &want.entries);
            prop_assert_eq!(got.set.sorted(), want.set.sorted());
            let offs: Vec<u32> = if want.starts.is_empty() {
                Vec::new()
            } else {
                marks.iter().map(|i| want.starts[i.index(want.starts.len())]).collect()
            };
            let (g, w) = (got.into_set(&offs), want.into_set(&offs));
            prop_assert_eq!(g.map(|s| s.sorted()), w.map(|s| s.sorted()));
        }
    }
}
