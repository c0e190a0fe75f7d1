#!/usr/bin/env python3
"""Checks docker/compose.yaml (CI stage 40): it parses as YAML; the default service is unchanged; the `scale-out`
profile has 3 replicas that all publish (`serve --database`, the same bucket and database, distinct replica ids,
the online keys mounted read-only), PostgreSQL, a 3-node Garage cluster and nginx whose upstream lists exactly the
3 replicas; `docker compose config -q` validates it too when the client has the compose plugin."""
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

here = pathlib.Path(__file__).resolve().parent
compose_file = here.parent / "compose.yaml"
c = yaml.safe_load(compose_file.read_text())
s = c["services"]
errors = []


def check(ok, what):
    if not ok:
        errors.append(what)


check("profiles" not in s["x0x-dist"], "the default service must not need a profile")
prof = {n for n, v in s.items() if "scale-out" in v.get("profiles", [])}
check(prof == {"postgres", "garage1", "garage2", "garage3", "replica1", "replica2", "replica3", "nginx"},
      f"scale-out services: {sorted(prof)}")


def flag(cmd, name):
    return cmd[cmd.index(name) + 1] if name in cmd else None


replicas = [s[f"replica{i}"] for i in (1, 2, 3)]
cmds = [r["command"] for r in replicas]
for i, cmd in enumerate(cmds, 1):
    check(cmd[0] == "serve", f"replica{i} runs serve")
    check(flag(cmd, "--database") is not None and "postgres" in flag(cmd, "--database"), f"replica{i} --database")
    check(flag(cmd, "--storage") == "s3://x0x/prod", f"replica{i} --storage")
    check(flag(cmd, "--keys") == "/keys", f"replica{i} --keys")
    check("--publish-via" not in cmd, f"replica{i}: no --publish-via with a database")
    check(any(v.endswith(":/keys:ro") for v in replicas[i - 1]["volumes"]), f"replica{i} keys read-only")
    check(replicas[i - 1].get("read_only") is True, f"replica{i} read-only root")
check(len({flag(c, "--replica-id") for c in cmds}) == 3, "distinct replica ids")
check(len({flag(c, "--database") for c in cmds}) == 1, "one database")
for i in (1, 2, 3):
    check(s[f"garage{i}"]["image"].startswith("dxflrs/garage:"), f"garage{i} image")
for rel in ("scale-out/garage.toml", "scale-out/nginx.conf"):
    check((here.parent / rel).is_file(), f"missing {rel}")
nginx = (here / "nginx.conf").read_text()
ups = re.findall(r"^\s*server\s+(\S+?):8080", nginx, re.M)
check(ups == ["replica1", "replica2", "replica3"], f"nginx upstream: {ups}")
garage = (here / "garage.toml").read_text()
check("replication_factor = 3" in garage, "garage replication_factor 3")

if shutil.which("docker"):
    r = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if r.returncode == 0:
        v = subprocess.run(["docker", "compose", "-f", str(compose_file), "--profile", "scale-out", "config", "-q"],
                           capture_output=True, text=True)
        check(v.returncode == 0, f"docker compose config: {v.stderr.strip()}")
    else:
        print("check.py: no docker compose plugin; YAML and structure checked only")

if errors:
    print("docker/compose.yaml:", *errors, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"docker/compose.yaml ok: default service + scale-out profile ({len(prof)} services)")
