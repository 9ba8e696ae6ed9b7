#!/usr/bin/env python3
"""Write samples/vulndb: a tiny Go vulnerability database in its published layout
(index/db.json, index/modules.json, ID/<id>.json), from real public entries.

Facts come from golang/vulndb data/osv/<ID>.json (ids, aliases, summaries, affected ranges,
goos restrictions, references); symbol lists are abridged. The Go database carries no CVSS
severity, so each entry gets the NVD CVSS v3.1 vector of its CVE (as GHSA's OSV export does) in
`severity`. `modified`/`published` are fixed to DATE so the demo is reproducible.
"""
import json, os, sys

DATE = "2026-11-01T00:00:00Z"
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "vulndb")

def rng(*events):
    return [{"type": "SEMVER", "events": [dict([e]) for e in events]}]

def entry(id, aliases, summary, affected, refs, vector):
    return {
        "schema_version": "1.3.1", "id": id, "modified": DATE, "published": DATE,
        "aliases": aliases, "summary": summary, "affected": affected,
        "references": [{"type": t, "url": u} for t, u in refs],
        "severity": [{"type": "CVSS_V3", "score": vector}],
        "database_specific": {"url": f"https://pkg.go.dev/vuln/{id}", "review_status": "REVIEWED"},
    }

def aff(name, ranges, imports):
    return {"package": {"name": name, "ecosystem": "Go"}, "ranges": ranges,
            "ecosystem_specific": {"imports": imports}}

E = [
    entry("GO-2023-2402", ["CVE-2023-48795", "GHSA-45x7-px36-x8w8"],
          "Man-in-the-middle attacker can compromise integrity of secure channel in golang.org/x/crypto",
          [aff("golang.org/x/crypto", rng(("introduced", "0"), ("fixed", "0.17.0")),
               [{"path": "golang.org/x/crypto/ssh", "symbols": ["Dial", "NewClient", "NewClientConn", "NewServerConn"]}])],
          [("REPORT", "https://go.dev/issue/64784"), ("FIX", "https://go.dev/cl/550715")],
          "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:N"),
    entry("GO-2024-3321", ["CVE-2024-45337", "GHSA-v778-237x-gjrc"],
          "Misuse of ServerConfig.PublicKeyCallback may cause authorization bypass in golang.org/x/crypto",
          [aff("golang.org/x/crypto", rng(("introduced", "0"), ("fixed", "0.31.0")),
               [{"path": "golang.org/x/crypto/ssh", "symbols": ["ServerConfig.PublicKeyCallback"]}])],
          [("FIX", "https://go.dev/cl/635315"), ("REPORT", "https://go.dev/issue/70779")],
          "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"),
    entry("GO-2023-2102", ["CVE-2023-44487", "CVE-2023-39325", "GHSA-4374-p667-p6c8"],
          "HTTP/2 rapid reset can cause excessive work in net/http",
          [aff("stdlib", rng(("introduced", "0"), ("fixed", "1.20.10"), ("introduced", "1.21.0-0"), ("fixed", "1.21.3")),
               [{"path": "net/http", "symbols": ["ListenAndServe", "Serve", "Server.Serve"]}]),
           aff("golang.org/x/net", rng(("introduced", "0"), ("fixed", "0.17.0")),
               [{"path": "golang.org/x/net/http2", "symbols": ["Server.ServeConn"]}])],
          [("REPORT", "https://go.dev/issue/63417"), ("FIX", "https://go.dev/cl/534215")],
          "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),
    entry("GO-2022-1059", ["CVE-2022-32149", "GHSA-69ch-w2m2-3vjp"],
          "Denial of service via crafted Accept-Language header in golang.org/x/text/language",
          [aff("golang.org/x/text", rng(("introduced", "0"), ("fixed", "0.3.8")),
               [{"path": "golang.org/x/text/language", "symbols": ["MatchStrings", "ParseAcceptLanguage"]}])],
          [("REPORT", "https://go.dev/issue/56152"), ("FIX", "https://go.dev/cl/442235")],
          "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),
    entry("GO-2023-2185", ["CVE-2023-45283"],
          "Insecure parsing of Windows paths with a \\??\\ prefix in path/filepath",
          [aff("stdlib", rng(("introduced", "0"), ("fixed", "1.20.11"), ("introduced", "1.21.0-0"), ("fixed", "1.21.4")),
               [{"path": "path/filepath", "goos": ["windows"], "symbols": ["Abs", "Clean", "Join"]},
                {"path": "internal/safefilepath", "goos": ["windows"], "symbols": ["FromFS"]}]),
           aff("stdlib", rng(("introduced", "1.20.11"), ("fixed", "1.20.12"), ("introduced", "1.21.4"), ("fixed", "1.21.5")),
               [{"path": "path/filepath", "goos": ["windows"], "symbols": ["Abs", "Clean", "Join"]}])],
          [("REPORT", "https://go.dev/issue/63713"), ("FIX", "https://go.dev/cl/540277")],
          "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"),
    entry("GO-2024-2887", ["CVE-2024-24790"],
          "Unexpected behavior from Is methods for IPv4-mapped IPv6 addresses in net/netip",
          [aff("stdlib", rng(("introduced", "0"), ("fixed", "1.21.11"), ("introduced", "1.22.0-0"), ("fixed", "1.22.4")),
               [{"path": "net/netip", "symbols": ["Addr.IsLoopback", "Addr.IsPrivate"]}])],
          [("FIX", "https://go.dev/cl/590316"), ("REPORT", "https://go.dev/issue/67680")],
          "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
    entry("GO-2023-1878", ["CVE-2023-29406"],
          "Insufficient sanitization of Host header in net/http",
          [aff("stdlib", rng(("introduced", "0"), ("fixed", "1.19.11"), ("introduced", "1.20.0-0"), ("fixed", "1.20.6")),
               [{"path": "net/http", "symbols": ["Client.Do", "Get", "Transport.RoundTrip"]}])],
          [("REPORT", "https://go.dev/issue/60374"), ("FIX", "https://go.dev/cl/506996")],
          "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N"),
]

def write_db(out, entries, modified=DATE):
    os.makedirs(os.path.join(out, "ID"), exist_ok=True)
    os.makedirs(os.path.join(out, "index"), exist_ok=True)
    modules = {}
    for e in entries:
        with open(os.path.join(out, "ID", e["id"] + ".json"), "w") as f:
            json.dump(e, f, indent=2, ensure_ascii=False)
            f.write("\n")
        for a in e["affected"]:
            fixed = [ev["fixed"] for r in a["ranges"] for ev in r["events"] if "fixed" in ev]
            vulns = modules.setdefault(a["package"]["name"], {})
            vulns[e["id"]] = {"id": e["id"], "modified": e["modified"], **({"fixed": max(fixed, key=lambda v: [int(x) for x in v.split("-")[0].split(".")])} if fixed else {})}
    with open(os.path.join(out, "index", "db.json"), "w") as f:
        json.dump({"modified": modified}, f)
    with open(os.path.join(out, "index", "modules.json"), "w") as f:
        json.dump([{"path": p, "vulns": list(v.values())} for p, v in sorted(modules.items())], f, indent=1)

if __name__ == "__main__":
    write_db(sys.argv[1] if len(sys.argv) > 1 else out, E)
