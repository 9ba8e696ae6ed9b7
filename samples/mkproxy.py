#!/usr/bin/env python3
"""Build a file-based GOPROXY from Debian's golang-*-dev source trees (fully offline).

usage: mkproxy.py OUTDIR MODULE=VERSION[=SRCDIR] ...

Each module gets @v/list, VERSION.info, VERSION.mod and VERSION.zip (entries prefixed
MODULE@VERSION/, as `go mod download` expects). Every other version that any go.mod mentions gets
a .mod file too, so minimal version selection can walk the graph; replace directives in the
demo's go.mod pin the versions that are actually compiled.
"""
import json, os, re, sys, zipfile

GOCODE = os.environ.get("GOCODE", "/usr/share/gocode/src")
out = sys.argv[1]
mods = {}
for arg in sys.argv[2:]:
    parts = arg.split("=")
    path, ver = parts[0], parts[1]
    src = parts[2] if len(parts) > 2 else os.path.join(GOCODE, path)
    mods[path] = (ver, src)

def escape(p):
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), p)

def requirements(gomod):
    reqs = []
    block = False
    for line in gomod.splitlines():
        line = line.split("//")[0].strip()
        if line.startswith("require ("):
            block = True
            continue
        if block and line == ")":
            block = False
            continue
        if block and line:
            reqs.append(line.split()[:2])
        elif line.startswith("require "):
            reqs.append(line.split()[1:3])
    return reqs

extra = {}
for path, (ver, src) in sorted(mods.items()):
    d = os.path.join(out, escape(path), "@v")
    os.makedirs(d, exist_ok=True)
    gomod_path = os.path.join(src, "go.mod")
    gomod = open(gomod_path).read() if os.path.exists(gomod_path) else f"module {path}\n"
    with open(os.path.join(d, "list"), "w") as f:
        f.write(ver + "\n")
    with open(os.path.join(d, ver + ".info"), "w") as f:
        json.dump({"Version": ver, "Time": "2023-01-01T00:00:00Z"}, f)
    with open(os.path.join(d, ver + ".mod"), "w") as f:
        f.write(gomod)
    with zipfile.ZipFile(os.path.join(d, ver + ".zip"), "w", zipfile.ZIP_DEFLATED) as z:
        for root, dirs, files in os.walk(src):
            dirs[:] = sorted(x for x in dirs if x not in (".git", "vendor", "testdata") and not x.startswith((".", "_")))
            rel_root = os.path.relpath(root, src)
            # nested modules are separate modules: skip them
            if rel_root != "." and os.path.exists(os.path.join(root, "go.mod")):
                dirs[:] = []
                continue
            for name in sorted(files):
                full = os.path.join(root, name)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                rel = os.path.normpath(os.path.join(rel_root, name))
                z.write(full, f"{path}@{ver}/{rel}")
    for req in requirements(gomod):
        if len(req) == 2:
            extra.setdefault(req[0], set()).add(req[1])

for path, vers in extra.items():
    d = os.path.join(out, escape(path), "@v")
    os.makedirs(d, exist_ok=True)
    for v in vers:
        target = os.path.join(d, v + ".mod")
        if not os.path.exists(target):
            with open(target, "w") as f:
                f.write(f"module {path}\n")
