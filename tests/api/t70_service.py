"""
t70 - cmsd kept like a service (issue 16, first part): --version of both
programs (from git describe, or a tarball's VERSION file), `make install` /
`make uninstall` with PREFIX and DESTDIR, the man pages (rendered by man -l,
and naming every option and variable of `cmsd --help`, `cmsctl --help` and
README's configuration table), and the store's schema across versions: a
store at the previous migration upgrades on start and serves; a store whose
schema is newer than this cmsd refuses to start, says both versions, and is
left as it was.  The schema tests run on the store the suite uses (SQLite, or
CMSD_TEST_PG); the rest need no store.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import *  # noqa: F401,F403
from harness import REPO, SAN_MARKERS, cmsd_bin, store_bytes, store_sql

VERSION_RE = re.compile(r"^[A-Za-z0-9.+~_-]+$")
TMP = None


def setup_module():
    global TMP
    TMP = tempfile.mkdtemp(prefix="cmsd-t70-")


def teardown_module():
    shutil.rmtree(TMP, ignore_errors=True)


def run(cmd, env=None, timeout=60, cwd=None):
    """Run cmd; return (exit code, stdout, stderr) as text.  A sanitizer
    report on stderr fails the test."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CMSD_")}
    e.update(env or {})
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=e, timeout=timeout, cwd=cwd)
    out, err = (p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"))
    for m in SAN_MARKERS:
        assert m not in err, "%s: sanitizer report: %s" % (" ".join(cmd), short(err, 2000))
    return p.returncode, out, err


def cmsctl_path():
    b = os.environ.get("CMSCTL_BIN")
    if b:
        return b
    near = os.path.join(os.path.dirname(cmsd_bin()), "cmsctl")
    return near if os.path.exists(near) else os.path.join(REPO, "build", "cmsctl")


def version_of(binary, name):
    rc, out, err = run([binary, "--version"])
    eq(rc, 0, "%s --version exit code (stderr %s)" % (name, short(err)))
    lines = out.split("\n")
    eq(lines[-1], "", "%s --version ends with a newline" % name)
    eq(len(lines), 2, "%s --version prints one line: %r" % (name, out))
    word = lines[0].split(" ")
    eq(len(word), 2, "%s --version: NAME VERSION: %r" % (name, out))
    eq(word[0], name, "%s --version names the program" % name)
    assert VERSION_RE.match(word[1]), "%s --version: odd version %r" % (name, word[1])
    eq(err, "", "%s --version writes nothing on stderr" % name)
    return word[1]


def at_rest(srv):
    """store_bytes() without pg_dump's random \\restrict key, which differs
    on every dump."""
    return re.sub(rb"(?m)^\\(un)?restrict \S+$", b"", store_bytes(srv))


def latest_migration():
    files = sorted(glob.glob(os.path.join(REPO, "sql", "sqlite", "[0-9]*.sql")))
    return int(os.path.basename(files[-1])[:4])


# -- versions ---------------------------------------------------------------

def test_cmsd_and_cmsctl_print_one_version():
    v = version_of(cmsd_bin(), "cmsd")
    eq(version_of(cmsctl_path(), "cmsctl"), v, "cmsctl's version is cmsd's")
    rc, out, _ = run([cmsd_bin(), "--help"])
    eq(rc, 0, "cmsd --help")
    assert "--version" in out, "cmsd --help does not list --version"
    rc, out, _ = run([cmsctl_path(), "--help"])
    assert "--version" in out, "cmsctl --help does not list --version"
    print("# version: %s" % v)


def test_version_of_a_git_checkout_and_of_a_tarball():
    """scripts/version: git describe in the repository; in a tree without
    .git (a release tarball) the VERSION file; else "unknown"; never a word
    that could break the header or a man page."""
    rc, out, err = run([os.path.join(REPO, "scripts", "version")])
    eq(rc, 0, "scripts/version in the repository: %s" % err)
    want = subprocess.run(["git", "-C", REPO, "describe", "--tags", "--always", "--dirty"],
                          stdout=subprocess.PIPE).stdout.decode().strip()
    if want:
        eq(out.strip(), want[1:] if want.startswith("v") else want, "git describe")
    tree = os.path.join(TMP, "tarball")
    os.makedirs(os.path.join(tree, "scripts"))
    shutil.copy(os.path.join(REPO, "scripts", "version"), os.path.join(tree, "scripts"))
    script = os.path.join(tree, "scripts", "version")
    for content, expected in (("0.13.0\n", "0.13.0"), ("v1.2.3-rc1\nsecond line\n", "1.2.3-rc1"),
                              ('1.0"; rm -rf /\n', "unknown"), ("", "unknown"), (None, "unknown")):
        vf = os.path.join(tree, "VERSION")
        if content is None:
            if os.path.exists(vf):
                os.unlink(vf)
        else:
            with open(vf, "w") as f:
                f.write(content)
        rc, out, err = run([script], cwd="/")
        eq((rc, out), (0, expected + "\n"), "scripts/version with VERSION %r" % content)
    # --header writes the define, and leaves an unchanged header alone
    with open(os.path.join(tree, "VERSION"), "w") as f:
        f.write("2.0.0\n")
    hdr = os.path.join(tree, "version.h")
    eq(run([script, "--header", hdr])[0], 0, "--header")
    eq(open(hdr).read(), '#define CMSD_VERSION "2.0.0"\n', "the header")
    old = time.time() - 100
    os.utime(hdr, (old, old))
    run([script, "--header", hdr])
    eq(int(os.stat(hdr).st_mtime), int(old), "an unchanged header is not rewritten")


# -- install ----------------------------------------------------------------

def make(*args):
    rc, out, err = run(["make", "-s", "-C", REPO] + list(args), timeout=600)
    eq(rc, 0, "make %s: %s %s" % (" ".join(args), short(out), short(err, 2000)))


def installed_files(root):
    found = set()
    for d, _, files in os.walk(root):
        for f in files:
            found.add(os.path.relpath(os.path.join(d, f), root))
    return found


def test_make_install_and_uninstall():
    dest = os.path.join(TMP, "dest")
    make("install", "DESTDIR=" + dest, "PREFIX=/usr")
    expected = {"usr/sbin/cmsd", "usr/bin/cmsctl", "usr/share/man/man8/cmsd.8",
                "usr/share/man/man1/cmsctl.1", "usr/share/doc/cmsd/README.md",
                "usr/share/doc/cmsd/operations.md", "usr/share/doc/cmsd/cmsctl.md"}
    eq(installed_files(dest), expected, "the installed tree")
    for f in ("usr/sbin/cmsd", "usr/bin/cmsctl"):
        eq(os.stat(os.path.join(dest, f)).st_mode & 0o777, 0o755, f + " mode")
    for f in expected - {"usr/sbin/cmsd", "usr/bin/cmsctl"}:
        eq(os.stat(os.path.join(dest, f)).st_mode & 0o777, 0o644, f + " mode")
    v = version_of(os.path.join(dest, "usr/sbin/cmsd"), "cmsd")
    eq(version_of(os.path.join(dest, "usr/bin/cmsctl"), "cmsctl"), v, "installed versions")
    for page, name, section in (("usr/share/man/man8/cmsd.8", "cmsd", "8"),
                                ("usr/share/man/man1/cmsctl.1", "cmsctl", "1")):
        rc, out, err = run(["man", "-l", os.path.join(dest, page)],
                           env={"MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80",
                                "MAN_KEEP_FORMATTING": ""})
        eq(rc, 0, "man -l %s: %s" % (page, short(err)))
        text = re.sub(r".\x08", "", out)
        for heading in ("NAME", "SYNOPSIS", "ENVIRONMENT", "FILES", "EXIT STATUS", "EXAMPLES") + \
                ((("SIGNALS", "BACKUP", "OPTIONS") if name == "cmsd" else ("GLOBAL OPTIONS",))):
            assert re.search(r"^%s$" % heading, text, re.M), "%s: no %s section" % (page, heading)
        assert text.startswith("%s(%s)" % (name, section)), "%s: header %r" % (page, text[:40])
        assert "warning" not in err.lower(), "man -l %s: %s" % (page, short(err))
    make("uninstall", "DESTDIR=" + dest, "PREFIX=/usr")
    eq(installed_files(dest), set(), "files left after make uninstall")
    # PREFIX defaults to /usr/local
    dest2 = os.path.join(TMP, "dest2")
    make("install", "DESTDIR=" + dest2)
    assert os.path.exists(os.path.join(dest2, "usr/local/sbin/cmsd")), \
        "default PREFIX: %s" % sorted(installed_files(dest2))


# -- man pages agree with the options ---------------------------------------

def help_options(binary):
    rc, out, _ = run([binary, "--help"])
    eq(rc, 0, "%s --help" % binary)
    return set(re.findall(r"^\s+(--[a-z][a-z-]*)", out, re.M))


def test_man_pages_name_every_option_and_variable():
    cmsd_src = open(os.path.join(REPO, "man", "cmsd.8.scd")).read()
    cmsctl_src = open(os.path.join(REPO, "man", "cmsctl.1.scd")).read()
    readme = open(os.path.join(REPO, "README.md")).read()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    readme_opts = set(re.findall(r"^\| `(--[a-z][a-z-]*)", table, re.M)) | \
        set(re.findall(r"`(--[a-z][a-z-]*) [A-Z]+`", table))
    readme_env = set(re.findall(r"`(CMSD_[A-Z_]+)`", table))
    opts = help_options(cmsd_bin())
    assert len(opts) > 20 and len(readme_opts) > 20, (opts, readme_opts)
    missing = sorted(o for o in opts | readme_opts if "*%s*" % o not in cmsd_src)
    eq(missing, [], "options of cmsd --help or README missing from man/cmsd.8.scd")
    eq(sorted(o for o in opts - {"--help", "--version"} if o not in table), [],
       "options of cmsd --help missing from README's configuration table")
    missing = sorted(v for v in readme_env if v not in cmsd_src)
    eq(missing, [], "README's variables missing from man/cmsd.8.scd")
    for word in ("*cmsd backup*", "*--to*", "*--force*", "SIGTERM", "pg_dump"):
        assert word in cmsd_src, "man/cmsd.8.scd does not mention %s" % word
    copts = help_options(cmsctl_path())
    missing = sorted(o for o in copts if "*%s*" % o not in cmsctl_src)
    eq(missing, [], "options of cmsctl --help missing from man/cmsctl.1.scd")
    for var in ("CMS_URL", "CMS_USER", "CMS_PASSWORD", "CMS_TOKEN", "CMSCTL_CONFIG"):
        assert var in cmsctl_src, "man/cmsctl.1.scd does not mention %s" % var


# -- schema versions ----------------------------------------------------------

def undo_latest_migration(url):
    """Take the store back to the migration before the latest, as the
    previous release left it.  Written for migration 9: on SQLite it changed
    nothing (its version row only); on PostgreSQL it replaced
    cmsd_mapping_put_group with a leaner body of the same signature, which
    0008's file puts back."""
    latest = latest_migration()
    assert latest == 9, ("migration %04d is new: teach undo_latest_migration how to undo it "
                         "(tests/api/t70_service.py)" % latest)
    statements = []
    if backend() == "postgresql":
        statements.append(open(os.path.join(REPO, "sql", "postgresql",
                                            "0008_mapping_put_group.sql")).read())
    statements.append("DELETE FROM schema_version WHERE version = 9")
    store_sql(url, statements)


def pg_lean_group():
    """Whether cmsd_mapping_put_group is migration 9's (its single-userId
    writes read their row count), not 8's."""
    rows = store_sql(current_url[0], "SELECT position('GET DIAGNOSTICS' in prosrc) > 0 "
                     "FROM pg_proc WHERE proname = 'cmsd_mapping_put_group'")
    eq(len(rows), 1, "cmsd_mapping_put_group functions")
    return rows[0][0] in ("t", "True", "true")


current_url = [None]


def test_store_of_the_previous_migration_upgrades_on_start():
    srv = use(Server().start())
    f = make_fixture(extra_agents=2, srv=srv)
    a0, a1 = f.agents[0], f.agents[1]
    expect(put_mapping(f.auth("sup"), f.campaign, f.lead, assigned=[a0], srv=srv), 200, "PUT")
    before = get_mapping(f.auth("sup"), f.campaign, f.lead, srv=srv)
    eq(before["assignedUserIds"], [a0], "the mapping before")
    eq(srv.stop(), 0, "stop")
    url = current_url[0] = srv.store_url()
    undo_latest_migration(url)
    eq(store_sql(url, "SELECT max(version) FROM schema_version"), [["8"]], "rolled back")
    if backend() == "postgresql":
        eq(pg_lean_group(), False, "migration 9's function, rolled back to 8's")
    srv.start()
    assert any('"schema migrated to version 9"' in l or "schema migrated to version 9" in l
               for l in srv.run.stderr), "no migration logged: %s" % short(srv.stderr_text())
    assert not any("schema migrated to version 8" in l for l in srv.run.stderr), \
        "an applied migration ran again"
    eq(store_sql_live(url), [["9"]], "schema version after the start")
    if backend() == "postgresql":
        eq(pg_lean_group(), True, "migration 9's function")
    f.tok["sup"] = login(f.sup, f.pw[f.sup], "ContactCenter", f.cc, srv=srv)
    after = get_mapping(f.auth("sup"), f.campaign, f.lead, srv=srv)
    eq(after, before, "the mapping after the upgrade")
    r = put_mapping(f.auth("sup"), f.campaign, f.lead, assigned=[a1], unassigned=[a0], srv=srv)
    expect(r, 200, "PUT after the upgrade")
    got = get_mapping(f.auth("sup"), f.campaign, f.lead, srv=srv)
    eq(got["assignedUserIds"], [a1], "the mapping after a PUT")
    assert a0 in got["unassignedUserIds"], "unassigned: %r" % got
    eq(srv.stop(), 0, "stop")


def store_sql_live(url):
    """The schema version read while cmsd may run (SQLite: a second
    connection is fine in WAL mode; PostgreSQL: psql)."""
    return store_sql(url, "SELECT max(version) FROM schema_version")


def test_newer_store_refuses_to_start_and_is_left_alone():
    srv = use(Server().start())
    make_fixture(extra_agents=0, srv=srv)
    eq(srv.stop(), 0, "stop")
    url = srv.store_url()
    latest = latest_migration()
    store_sql(url, "INSERT INTO schema_version (version, applied_at) VALUES (%d, 0)" % (latest + 1))
    before = at_rest(srv)
    path = url[len("sqlite:"):] if url.startswith("sqlite:") else None
    mtime = os.stat(path).st_mtime_ns if path else None
    t0 = time.time()
    rc, _, err = run([cmsd_bin(), "--listen", "127.0.0.1:0", "--db", url, "--pwhash", "min"],
                     env={"CMSD_ADMIN_USER": "sysadmin", "CMSD_ADMIN_PASSWORD": random_password()},
                     timeout=30)
    took = time.time() - t0
    assert rc not in (0, None), "cmsd started on a newer store (exit %r)" % rc
    eq(rc, 1, "exit code of the refused start")
    assert took < 10, "took %.1f s to refuse" % took
    for line in err.splitlines():
        assert isinstance(json.loads(line), dict), "not a JSON log line: %r" % line
    msg = [json.loads(l)["msg"] for l in err.splitlines() if '"error"' in l]
    assert any(("version is %d" % (latest + 1)) in m and ("newer than %d" % latest) in m
               for m in msg), "no message naming both versions: %s" % short(err, 1500)
    assert not any("listening" in l for l in err.splitlines()), "it listened"
    assert at_rest(srv) == before, "the refused start changed the store"
    if path:
        eq(os.stat(path).st_mtime_ns, mtime, "the store file's mtime")
    print("# refused in %.2f s: %s" % (took, [m for m in msg if "newer" in m][0]))
    # the store is intact: without the future version it serves again
    store_sql(url, "DELETE FROM schema_version WHERE version = %d" % (latest + 1))
    srv.start()
    expect(req("GET", "/health", srv=srv), 200, "health after the refusal")
    eq(srv.stop(), 0, "stop")
