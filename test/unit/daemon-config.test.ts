/**
 * rsyncd.conf parsing (as upstream's params.c/loadparm.c), host rules
 * (access.c), refused options (options.c set_refuse_options) and module path
 * sanitizing (sanitize_path).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allowAccess } from "../../src/daemon/access.ts";
import { loadDaemonConfig } from "../../src/daemon/config.ts";
import { findRefused, refusedOptions } from "../../src/daemon/refuse.ts";
import { modulePath } from "../../src/daemon/session.ts";
import { sanitizeLinkTarget } from "../../src/roles/symlink-safety.ts";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(join(tmpdir(), "oc-conf-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function conf(text: string, name = "rsyncd.conf"): string {
  const path = join(dir, name);
  fs.writeFileSync(path, text);
  return path;
}

describe("rsyncd.conf", () => {
  test("sections, comments, continuations, name spellings, boolean spellings, global defaults", () => {
    process.env.OC_TEST_ROOT = "/srv";
    const cfg = loadDaemonConfig(
      conf(`# a comment
; another
motd file = /etc/motd
ReadOnly = false
port = 8873
[one]
  path = %OC_TEST_ROOT%/one
  comment = first \\
     module
  read_only = TRUE
  list = 0
[two]
  path = /srv/two
  use chroot = no
  max connections = 4
`),
    );
    expect(cfg.globals.str("motd file")).toBe("/etc/motd");
    expect(cfg.globals.int("rsync port")).toBe(8873);
    const one = cfg.module("one")!;
    expect(one.str("path")).toBe("/srv/one");
    expect(one.str("comment")).toBe("first module");
    expect(one.bool("read only")).toBe(true);
    expect(one.bool("list")).toBe(false);
    const two = cfg.module("two")!;
    // "read only" from the global section is the default for the modules after it.
    expect(two.bool("read only")).toBe(false);
    expect(two.bool3("use chroot")).toBe(false);
    expect(two.bool3("munge symlinks")).toBe(null);
    expect(two.int("max connections")).toBe(4);
    expect(two.str("log format")).toBe("%o %h [%a] %m (%u) %f %l");
  });

  test("&merge reads a file inline; &include keeps its global settings to itself", () => {
    const incDir = join(dir, "conf.d");
    fs.mkdirSync(incDir, { recursive: true });
    fs.writeFileSync(join(incDir, "a.conf"), "read only = no\n[inc]\n  path = /srv/inc\n");
    fs.writeFileSync(join(dir, "extra.inc"), "comment = merged in\n");
    const cfg = loadDaemonConfig(conf(`&include ${incDir}\n[after]\n  path = /srv/after\n  &merge ${join(dir, "extra.inc")}\n`, "inc.conf"));
    expect(cfg.module("inc")!.bool("read only")).toBe(false);
    expect(cfg.module("after")!.bool("read only")).toBe(true);
    expect(cfg.module("after")!.str("comment")).toBe("merged in");
  });

  test("unknown parameters and bad booleans are errors; --dparam sets globals", () => {
    expect(() => loadDaemonConfig(conf("[m]\n  pathh = /x\n", "bad1.conf"))).toThrow(/Unknown Parameter/);
    expect(() => loadDaemonConfig(conf("[m]\n  list = maybe\n", "bad2.conf"))).toThrow(/Badly formed boolean/);
    const cfg = loadDaemonConfig(conf("[m]\n  path = /x\n", "ok.conf"), ["pidfile=/run/x.pid"]);
    expect(cfg.globals.str("pid file")).toBe("/run/x.pid");
  });
});

test("the sample config in examples/ loads", () => {
  const cfg = loadDaemonConfig(join(import.meta.dir, "../../examples/rsyncd.conf"));
  expect(cfg.modules.map((m) => m.name)).toEqual(["pub", "incoming"]);
  expect(cfg.module("incoming")!.bool("write only")).toBe(true);
  expect(cfg.module("pub")!.int("max connections")).toBe(10);
});

describe("hosts allow / hosts deny", () => {
  test("addresses, masks, names and wildcards", () => {
    expect(allowAccess("127.0.0.1", "localhost", "", "")).toBe(true);
    expect(allowAccess("127.0.0.1", "localhost", "10.0.0.0/8", "")).toBe(false);
    expect(allowAccess("10.1.2.3", "x", "10.0.0.0/8", "")).toBe(true);
    expect(allowAccess("10.1.2.3", "x", "10.0.0.0/255.0.0.0", "")).toBe(true);
    expect(allowAccess("192.168.1.5", "pc.example.com", "*.example.com", "")).toBe(true);
    expect(allowAccess("192.168.1.5", "pc.example.com", "", "192.168.1.0/24")).toBe(false);
    // An allow match wins over a deny match; with both lists, the unmatched are let in.
    expect(allowAccess("192.168.1.5", "pc", "192.168.1.5", "192.168.0.0/16")).toBe(true);
    expect(allowAccess("172.16.0.1", "pc", "192.168.1.5", "192.168.0.0/16")).toBe(true);
    expect(allowAccess("::1", "localhost", "::1/128", "")).toBe(true);
    expect(allowAccess("fe80::1", "x", "", "fe80::/10")).toBe(false);
  });
});

describe("refuse options", () => {
  test("names, letters, wildcards, negation, archive", () => {
    const r = refusedOptions("delete c* !checksum a");
    expect(r.has("delete")).toBe(true);
    expect(r.has("checksum")).toBe(false);
    expect(r.has("copy-links")).toBe(true);
    expect(findRefused(["--server", "-vlogDtpre.iLsfxCIvu", ".", "m/"], r)).toBe("--links (-l)");
    expect(findRefused(["--server", "-ve.iLsfxCIvu", "--delete", ".", "m/"], refusedOptions("delete"))).toBe("--delete");
    // The capability letters after "e" are its value, never options.
    expect(findRefused(["--server", "-ve.iLsfxCIvu", ".", "m/"], refusedOptions("i"))).toBe(null);
  });
});

describe("paths inside a module", () => {
  test("the module name comes off; '..' never climbs out; the trailing slash stays", () => {
    expect(modulePath("m", "m")).toBe(".");
    expect(modulePath("m/", "m")).toBe(".");
    expect(modulePath("m/a/b/", "m")).toBe("a/b/");
    expect(modulePath("m/../../etc/passwd", "m")).toBe("etc/passwd");
    expect(modulePath("m/a/../../b", "m")).toBe("b");
    expect(modulePath("m//a/./b", "m")).toBe("a/./b");
  });

  test("a received link target stays inside the module", () => {
    const t = (s: string, depth: number) => Buffer.from(sanitizeLinkTarget(Buffer.from(s), depth)).toString();
    expect(t("/etc/passwd", 0)).toBe("etc/passwd");
    expect(t("../../x", 1)).toBe("../x");
    expect(t("a/../../b", 2)).toBe("../b");
    expect(t("./a/./b", 0)).toBe("a/b");
    expect(t("..", 0)).toBe(".");
  });
});
