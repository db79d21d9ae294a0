import { describe, expect, test } from "bun:test";
import { optionTable, modeTable } from "../../src/cli/option-table.ts";
import { parseArgv } from "../../src/cli/option-spec.ts";
import { defaultOptions } from "../../src/cli/options.ts";
import { finishBackupOptions } from "../../src/cli/backup-options.ts";
import { serverArgs } from "../../src/protocol/server-args.ts";
import { unescapeOptionArgs } from "../../src/daemon/session.ts";
import { checkBatchOptions } from "../../src/batch/batch-options.ts";
import { resolveIconvOption } from "../../src/flist/iconv-hooks.ts";
import { secludedStart } from "../../src/protocol/secluded-args.ts";
import { checkPartialOptions } from "../../src/cli/partial-options.ts";

/**
 * Expected vectors captured from upstream rsync 3.5.0's client
 * (`rsync OPTS -e FAKE h:src/ dst` with a fake remote shell that prints its
 * arguments), minus the trailing ". src/".
 */
const PULL: [string, string][] = [
  ["-a", "--server --sender -logDtpre.iLsfxCIvu"],
  ["-av", "--server --sender -vlogDtpre.iLsfxCIvu"],
  ["-avv", "--server --sender -vvlogDtpre.iLsfxCIvu"],
  ["-a --stats", "--server --sender -logDtpre.iLsfxCIvu"],
  ["-rlt --delete", "--server --sender -ltre.iLsfxCIvu"],
  ["-a --delete-after", "--server --sender -logDtpre.LsfxCIvu"],
  ["-a --delete-delay", "--server --sender -logDtpre.iLsfxCIvu"],
  ["-a --partial", "--server --sender -logDtpre.iLsfxCIvu"],
  ["-a -c", "--server --sender -logDtprce.iLsfxCIvu"],
  ["-a --checksum-choice=md5", "--server --sender -logDtpre.iLsfxCIvu --checksum-choice=md5"],
  ["-aW", "--server --sender -lWogDtpre.iLsfxCIvu"],
  ["-a -n", "--server --sender -nlogDtpre.iLsfxCIvu"],
  ["-a --protocol=29", "--server --sender -logDtpr"],
  ["-aH --numeric-ids", "--server --sender -lHogDtpre.iLsfxCIvu --numeric-ids"],
  ["-a --size-only -u -I", "--server --sender -ulogDtprIe.iLsfxCIvu"],
  ["-a --inplace", "--server --sender -logDtpre.iLsfxCIvu --inplace"],
  ["-a --append", "--server --sender -logDtpre.iLsfxCIvu --append"],
  ["-a --append-verify", "--server --sender -logDtpre.iLsfxCIvu --append --append"],
  ["-a --list-only", "--server --sender -logDtpre.iLsfxCIvu --list-only"],
  ["-r", "--server --sender -re.iLsfxCIvu"],
  ["-d", "--server --sender -de.LsfxCIvu"],
  ["-a --timeout=30", "--server --sender -logDtpre.iLsfxCIvu --timeout=30"],
  ["-a -B 2048", "--server --sender -logDtpre.iLsfxCIvu -B2048"],
  ["-a --no-i-r", "--server --sender -logDtpre.LsfxCIvu"],
  ["-aL", "--server --sender -lLogDtpre.iLsfxCIvu"],
  ["--copy-unsafe-links --safe-links -a", "--server --sender -logDtpre.iLsfxCIvu --copy-unsafe-links --safe-links"],
  ["-ac --checksum-choice=xxh64,md5", "--server --sender -logDtprce.iLsfxCIvu --checksum-choice=xxh64,md5"],
  ["-r --bwlimit=100", "--server --sender -re.iLsfxCIvu --bwlimit=100"],
  ["-r --bwlimit=1.5M", "--server --sender -re.iLsfxCIvu --bwlimit=1536"],
];

/** A lone remote source implies --list-only (level 1): upstream then adds -d without -r. */
const IMPLIED_LIST: [string, string][] = [
  ["", "--server --sender -de.LsfxCIvu"],
  ["-a", "--server --sender -logDtpre.iLsfxCIvu"],
  ["-v", "--server --sender -vde.LsfxCIvu"],
  ["--list-only", "--server --sender -de.LsfxCIvu --list-only"],
];

function build(argv: string, listOnly?: number) {
  const o = defaultOptions();
  parseArgv(argv.split(" ").filter(Boolean), [...optionTable, ...modeTable], o);
  const level = listOnly ?? (o.listOnly ? 2 : 0);
  return serverArgs(o, { amSender: false, protocol: o.protocol ?? 32, listOnly: o.listOnly ? 2 : level }).join(" ");
}

describe("server option vector for a pull (as upstream's client sends it)", () => {
  test.each(PULL)("%s", (argv, expected) => expect(build(argv)).toBe(expected));
  test.each(IMPLIED_LIST)("lone remote source with [%s]", (argv, expected) => expect(build(argv, 1)).toBe(expected));
});

/** --atimes, --open-noatime, --fuzzy, --delay-updates, --fsync: upstream 3.5.0's vectors for a pull and a push (same fake shell). */
const TIMES_AND_BASIS: [string, string, string][] = [
  ["-aU", "--server --sender -logDtUpre.iLsfxCIvu", "--server -logDtUpre.iLsfxCIvu"],
  ["-aUU", "--server --sender -logDtUUpre.iLsfxCIvu", "--server -logDtUUpre.iLsfxCIvu"],
  ["-a --open-noatime", "--server --sender -logDtpre.iLsfxCIvu --open-noatime", "--server -logDtpre.iLsfxCIvu --open-noatime"],
  ["-aU --open-noatime", "--server --sender -logDtUpre.iLsfxCIvu --open-noatime", "--server -logDtUpre.iLsfxCIvu --open-noatime"],
  ["-aUU --open-noatime", "--server --sender -logDtUUpre.iLsfxCIvu", "--server -logDtUUpre.iLsfxCIvu"],
  ["-ay", "--server --sender -logDtpre.iLsfxCIvu", "--server -lyogDtpre.iLsfxCIvu"],
  ["-ayy", "--server --sender -logDtpre.iLsfxCIvu", "--server -lyogDtpre.iLsfxCIvu"],
  ["-a --delay-updates", "--server --sender -logDtpre.LsfxCIvu", "--server -logDtpre.iLsfxCIvu --delay-updates"],
  ["-a --delay-updates --partial-dir=pd", "--server --sender -logDtpre.LsfxCIvu", "--server -logDtpre.iLsfxCIvu --partial-dir pd --delay-updates"],
  ["-a --partial --delay-updates", "--server --sender -logDtpre.LsfxCIvu", "--server -logDtpre.iLsfxCIvu --delay-updates"],
  ["-a --fsync", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu --fsync"],
  ["-a --no-y -y --delay-updates --no-delay-updates", "--server --sender -logDtpre.iLsfxCIvu", "--server -lyogDtpre.iLsfxCIvu"],
];

describe("atimes, fuzzy, delay-updates and fsync in the server vector (pull and push)", () => {
  for (const [argv, pull, push] of TIMES_AND_BASIS) {
    test(`${argv} (pull)`, () => expect(build(argv)).toBe(pull));
    test(`${argv} (push)`, () => {
      const o = defaultOptions();
      parseArgv(argv.split(" "), [...optionTable, ...modeTable], o);
      expect(serverArgs(o, { amSender: true, protocol: 32, listOnly: 0 }).join(" ")).toBe(push);
    });
  }
});

/** -A, -X/-XX, --super, --fake-super: upstream 3.5.0's vectors for a pull and a push (same fake shell); --fake-super stays local. */
const XATTRS_AND_SUPER: [string, string, string][] = [
  ["-aX", "--server --sender -logDtpXre.iLsfxCIvu", "--server -logDtpXre.iLsfxCIvu"],
  ["-aXX", "--server --sender -logDtpXXre.iLsfxCIvu", "--server -logDtpXXre.iLsfxCIvu"],
  ["-X", "--server --sender -Xe.LsfxCIvu", "--server -Xe.LsfxCIvu"],
  ["-aX --no-X", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-aX --fake-super", "--server --sender -logDtpXre.iLsfxCIvu", "--server -logDtpXre.iLsfxCIvu"],
  ["-a --super", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu --super"],
  ["-a --fake-super", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-a --super --no-super", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-aA", "--server --sender -logDtpAre.iLsfxCIvu", "--server -logDtpAre.iLsfxCIvu"],
  ["-A", "--server --sender -pAe.LsfxCIvu", "--server -pAe.LsfxCIvu"],
  ["-aAX", "--server --sender -logDtpAXre.iLsfxCIvu", "--server -logDtpAXre.iLsfxCIvu"],
  ["-aA --no-A", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-A --no-p", "--server --sender -Ae.LsfxCIvu", "--server -Ae.LsfxCIvu"],
];

describe("xattrs and super-user options in the server vector (pull and push)", () => {
  for (const [argv, pull, push] of XATTRS_AND_SUPER) {
    test(`${argv} (pull)`, () => expect(build(argv)).toBe(pull));
    test(`${argv} (push)`, () => {
      const o = defaultOptions();
      parseArgv(argv.split(" "), [...optionTable, ...modeTable], o);
      expect(serverArgs(o, { amSender: true, protocol: 32, listOnly: 0 }).join(" ")).toBe(push);
    });
  }
});

/** -m, -S, --preallocate, --remove-source-files/--remove-sent-files, --delete-missing-args: upstream 3.5.0's vectors for a pull and a push (same fake shell). */
const REMOVAL_PRUNING_SPARSE: [string, string, string][] = [
  ["-a -m", "--server --sender -logDtpre.LsfxCIvu", "--server -lmogDtpre.iLsfxCIvu"],
  ["-a -S", "--server --sender -logDtprSe.iLsfxCIvu", "--server -logDtprSe.iLsfxCIvu"],
  ["-a --preallocate", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu --preallocate"],
  ["-a --remove-source-files", "--server --sender -logDtpre.iLsfxCIvu --remove-source-files", "--server -logDtpre.iLsfxCIvu --remove-source-files"],
  ["-a --remove-sent-files", "--server --sender -logDtpre.iLsfxCIvu --remove-sent-files", "--server -logDtpre.iLsfxCIvu --remove-sent-files"],
  ["-a --delete-missing-args", "--server --sender -logDtpre.iLsfxCIvu --delete-missing-args", "--server -logDtpre.iLsfxCIvu --delete-missing-args"],
  ["-a --ignore-missing-args --delete-missing-args", "--server --sender -logDtpre.iLsfxCIvu --delete-missing-args", "--server -logDtpre.iLsfxCIvu --delete-missing-args"],
  ["-a --inplace -S", "--server --sender -logDtprSe.iLsfxCIvu --inplace", "--server -logDtprSe.iLsfxCIvu --inplace"],
  ["-a --inplace -S --no-W", "--server --sender -logDtprSe.iLsfxCIvu --inplace", "--server -logDtprSe.iLsfxCIvu --inplace --no-W"],
  ["-a -S --no-sparse", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-a -m --no-m", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  [
    "-a --delete-missing-args --ignore-missing-args -m -S --preallocate --remove-source-files",
    "--server --sender -logDtprSe.LsfxCIvu --delete-missing-args --remove-source-files",
    "--server -lmogDtprSe.iLsfxCIvu --delete-missing-args --remove-source-files --preallocate",
  ],
];

describe("removal, pruning, sparse and preallocation options in the server vector (pull and push)", () => {
  for (const [argv, pull, push] of REMOVAL_PRUNING_SPARSE) {
    test(`${argv} (pull)`, () => expect(build(argv)).toBe(pull));
    test(`${argv} (push)`, () => {
      const o = defaultOptions();
      parseArgv(argv.split(" "), [...optionTable, ...modeTable], o);
      expect(serverArgs(o, { amSender: true, protocol: 32, listOnly: 0 }).join(" ")).toBe(push);
    });
  }
});

/** --chmod stays with the client (each side applies its own); the maps go to a receiving server, escaped as safe_arg does. Upstream 3.5.0's vectors. */
const CHMOD_AND_MAPS: [string, string, string][] = [
  ["--chmod=u+x", "--server --sender -e.LsfxCIvu", "--server -e.LsfxCIvu"],
  ["-a --chmod=D755,F644 --chmod=o-w", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["--chown=root:root", "--server --sender -oge.LsfxCIvu", String.raw`--server -oge.LsfxCIvu --usermap=\*:root --groupmap=\*:root`],
  ["--chown=:adm", "--server --sender -ge.LsfxCIvu", String.raw`--server -ge.LsfxCIvu --groupmap=\*:adm`],
  ["--chown=daemon", "--server --sender -oe.LsfxCIvu", String.raw`--server -oe.LsfxCIvu --usermap=\*:daemon`],
  ["-a --usermap=*:root", "--server --sender -logDtpre.iLsfxCIvu", String.raw`--server -logDtpre.iLsfxCIvu --usermap=\*:root`],
  [
    "-a --groupmap=0-9:root,foo:bar --usermap=[ab]?:x",
    "--server --sender -logDtpre.iLsfxCIvu",
    String.raw`--server -logDtpre.iLsfxCIvu --usermap=\[ab\]\?:x --groupmap=0-9:root,foo:bar`,
  ],
  [
    "-a --numeric-ids --usermap=1:2 --groupmap=3:4",
    "--server --sender -logDtpre.iLsfxCIvu --numeric-ids",
    "--server -logDtpre.iLsfxCIvu --numeric-ids --usermap=1:2 --groupmap=3:4",
  ],
  [String.raw`-rt --usermap=a\b:c`, "--server --sender -otre.iLsfxCIvu", String.raw`--server -otre.iLsfxCIvu --usermap=a\\b:c`],
];

describe("--chmod, --chown, --usermap and --groupmap in the server vector (pull and push)", () => {
  for (const [argv, pull, push] of CHMOD_AND_MAPS) {
    test(`${argv} (pull)`, () => expect(build(argv)).toBe(pull));
    test(`${argv} (push)`, () => {
      const o = defaultOptions();
      parseArgv(argv.split(" "), [...optionTable, ...modeTable], o);
      expect(serverArgs(o, { amSender: true, protocol: 32, listOnly: 0 }).join(" ")).toBe(push);
    });
  }
  test("a daemon takes the escapes off the options, not off the paths after '.'", () => {
    const sent = String.raw`--server -oe.LsfxCIvu --usermap=\[ab\]\?:x,a\\b:\*`;
    expect(unescapeOptionArgs([...sent.split(" "), ".", String.raw`mod/a\*b`])).toEqual([
      "--server",
      "-oe.LsfxCIvu",
      String.raw`--usermap=[ab]?:x,a\b:*`,
      ".",
      String.raw`mod/a\*b`,
    ]);
  });
});

/** -b, --backup-dir, --suffix, the basis dirs and --info words: upstream 3.5.0's vectors for a pull and a push (same fake shell). */
const BACKUP_AND_BASIS_DIRS: [string, string, string][] = [
  ["-a -b", "--server --sender -blogDtpre.iLsfxCIvu", "--server -blogDtpre.iLsfxCIvu"],
  ["-ab --suffix=.bak", "--server --sender -blogDtpre.iLsfxCIvu --suffix=.bak", "--server -blogDtpre.iLsfxCIvu --suffix=.bak"],
  ["-a --backup-dir=../bak", "--server --sender -blogDtpre.iLsfxCIvu --backup-dir ../bak", "--server -blogDtpre.iLsfxCIvu --backup-dir ../bak"],
  [
    "-a --backup-dir=../bak --suffix=.1",
    "--server --sender -blogDtpre.iLsfxCIvu --backup-dir ../bak --suffix=.1",
    "--server -blogDtpre.iLsfxCIvu --backup-dir ../bak --suffix=.1",
  ],
  ["-a -b --suffix=~", "--server --sender -blogDtpre.iLsfxCIvu", "--server -blogDtpre.iLsfxCIvu"],
  ["-a -b --delete", "--server --sender -blogDtpre.iLsfxCIvu", "--server -blogDtpre.iLsfxCIvu --delete"],
  ["-a -b -O", "--server --sender -blogDtpre.iLsfxCIvu", "--server -blogDtpre.iLsfxCIvu"],
  ["-a --backup-dir=b -O", "--server --sender -blogDtpre.iLsfxCIvu --backup-dir b", "--server -blOogDtpre.iLsfxCIvu --backup-dir b"],
  ["-a --suffix=a*b", String.raw`--server --sender -logDtpre.iLsfxCIvu --suffix=a\*b`, String.raw`--server -logDtpre.iLsfxCIvu --suffix=a\*b`],
  ["-a --link-dest=../prev", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu --link-dest ../prev"],
  ["-a --compare-dest=/x --compare-dest=y", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu --compare-dest /x --compare-dest y"],
  ["-a --copy-dest=c", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu --copy-dest c"],
  ["-a --info=backup", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu --info=BACKUP"],
  ["-a --info=name2,del0", "--server --sender -logDtpre.iLsfxCIvu --info=NAME2", "--server -logDtpre.iLsfxCIvu --log-format=X --info=DEL0,NAME2"],
  ["-a --info=all", "--server --sender -logDtpre.iLsfxCIvu --info=ALL", "--server -logDtpre.iLsfxCIvu --log-format=X --info=ALL"],
];

describe("backups, basis dirs and --info words in the server vector (pull and push)", () => {
  for (const [argv, pull, push] of BACKUP_AND_BASIS_DIRS) {
    const parsed = () => {
      const o = defaultOptions();
      parseArgv(argv.split(" "), [...optionTable, ...modeTable], o);
      finishBackupOptions(o);
      return o;
    };
    test(`${argv} (pull)`, () => expect(serverArgs(parsed(), { amSender: false, protocol: 32, listOnly: 0 }).join(" ")).toBe(pull));
    test(`${argv} (push)`, () => expect(serverArgs(parsed(), { amSender: true, protocol: 32, listOnly: 0 }).join(" ")).toBe(push));
  }
});

/** Batch options: upstream 3.5.0's vectors for a pull and a push (same fake shell); only a push's server hears of --only-write-batch. */
const BATCH: [string, string, string][] = [
  ["-a --write-batch=wb", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-a --only-write-batch=wb", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu --only-write-batch=X"],
  ["-a --only-write-batch=wb -n", "--server --sender -nlogDtpre.iLsfxCIvu", "--server -nlogDtpre.iLsfxCIvu"],
  ["-av --write-batch=wb --delete", "--server --sender -vlogDtpre.iLsfxCIvu", "--server -vlogDtpre.iLsfxCIvu --delete"],
];

describe("batch options in the server vector (pull and push)", () => {
  for (const [argv, pull, push] of BATCH) {
    for (const amSender of [false, true]) {
      test(`${argv} (${amSender ? "push" : "pull"})`, () => {
        const o = defaultOptions();
        parseArgv(argv.split(" "), [...optionTable, ...modeTable], o);
        // What the client settles before connecting (main.c: --only-write-batch is a dry run that still transfers).
        checkBatchOptions(o);
        expect(serverArgs(o, { amSender, protocol: 32, listOnly: 0 }).join(" ")).toBe(amSender ? push : pull);
      });
    }
  }
});

/** --copy-devices, --write-devices, --copy-as: upstream 3.5.0's vectors for a pull and a push (same fake shell). --write-devices implies --inplace (even after --no-inplace); --copy-as stays with the client. */
const DEVICES_AND_COPY_AS: [string, string, string][] = [
  ["-a --copy-devices", "--server --sender -logDtpre.iLsfxCIvu --copy-devices", "--server -logDtpre.iLsfxCIvu"],
  ["-a --write-devices", "--server --sender -logDtpre.iLsfxCIvu --inplace", "--server -logDtpre.iLsfxCIvu --inplace --write-devices"],
  ["-a --write-devices --no-inplace", "--server --sender -logDtpre.iLsfxCIvu --inplace", "--server -logDtpre.iLsfxCIvu --inplace --write-devices"],
  ["-a --write-devices -S", "--server --sender -logDtprSe.iLsfxCIvu --inplace", "--server -logDtprSe.iLsfxCIvu --inplace --write-devices"],
  ["-a --write-devices --append", "--server --sender -logDtpre.iLsfxCIvu --append", "--server -logDtpre.iLsfxCIvu --append --write-devices"],
  ["-a --write-devices --no-write-devices", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-a --copy-devices --write-devices", "--server --sender -logDtpre.iLsfxCIvu --inplace --copy-devices", "--server -logDtpre.iLsfxCIvu --inplace --write-devices"],
  [
    "-a --copy-devices --remove-source-files --preallocate --write-devices",
    "--server --sender -logDtpre.iLsfxCIvu --inplace --remove-source-files --copy-devices",
    "--server -logDtpre.iLsfxCIvu --inplace --write-devices --remove-source-files --preallocate",
  ],
  ["-a --copy-as=nobody", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-a --copy-as=nobody:nogroup", "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
];

describe("--copy-devices, --write-devices and --copy-as in the server vector (pull and push)", () => {
  for (const [argv, pull, push] of DEVICES_AND_COPY_AS) {
    for (const amSender of [false, true]) {
      test(`${argv} (${amSender ? "push" : "pull"})`, () => {
        const o = defaultOptions();
        parseArgv(argv.split(" "), [...optionTable, ...modeTable], o);
        // What the client settles after parsing (options.c: --write-devices sets inplace).
        checkPartialOptions(o);
        expect(serverArgs(o, { amSender, protocol: 32, listOnly: 0 }).join(" ")).toBe(amSender ? push : pull);
      });
    }
  }
  test("--write-devices refuses --partial-dir as --inplace does", () => {
    const o = defaultOptions();
    parseArgv(["-a", "--write-devices", "--partial-dir=x"], [...optionTable, ...modeTable], o);
    expect(() => checkPartialOptions(o)).toThrow("--inplace cannot be used with --partial-dir");
  });
});

/**
 * --iconv: upstream 3.5.0's vectors (same fake shell, pull and push): only
 * the REMOTE part travels, right after the cluster, and it stays there under
 * -s; --no-iconv, "-" and $RSYNC_ICONV are settled by the client.
 */
const ICONV: [string, Record<string, string>, string, string][] = [
  ["-a --iconv=ISO-8859-1,UTF-8", {}, "--server --sender -logDtpre.iLsfxCIvu --iconv=UTF-8", "--server -logDtpre.iLsfxCIvu --iconv=UTF-8"],
  ["-a --iconv=UTF-8", {}, "--server --sender -logDtpre.iLsfxCIvu --iconv=UTF-8", "--server -logDtpre.iLsfxCIvu --iconv=UTF-8"],
  ["-r --iconv=.", {}, "--server --sender -re.iLsfxCIvu --iconv=.", "--server -re.iLsfxCIvu --iconv=."],
  ["-d --iconv=", {}, "--server --sender -de.LsfxCIvu --iconv=", "--server -de.LsfxCIvu --iconv="],
  ["-a --iconv=latin1,utf8 --no-iconv", {}, "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-a --iconv=-", {}, "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
  ["-a -s --iconv=ISO-8859-1,UTF-8", {}, "--server --sender -slogDtpre.iLsfxCIvu --iconv=UTF-8", "--server -slogDtpre.iLsfxCIvu --iconv=UTF-8"],
  ["-a", { RSYNC_ICONV: "ISO-8859-1,UTF-8" }, "--server --sender -logDtpre.iLsfxCIvu --iconv=UTF-8", "--server -logDtpre.iLsfxCIvu --iconv=UTF-8"],
  ["-a --no-iconv", { RSYNC_ICONV: "ISO-8859-1,UTF-8" }, "--server --sender -logDtpre.iLsfxCIvu", "--server -logDtpre.iLsfxCIvu"],
];

describe("--iconv in the server vector (pull and push)", () => {
  for (const [argv, env, pull, push] of ICONV) {
    for (const amSender of [false, true]) {
      test(`${argv} ${Object.keys(env).join(" ")} (${amSender ? "push" : "pull"})`, () => {
        const o = defaultOptions();
        parseArgv(argv.split(" "), [...optionTable, ...modeTable], o);
        resolveIconvOption(o, env);
        const args = serverArgs(o, { amSender, protocol: 32, listOnly: 0 });
        expect(args.join(" ")).toBe(amSender ? push : pull);
        // Under -s the command line ends after --iconv: upstream's server needs it to read the rest.
        if (o.secludedArgs > 0) expect(args.slice(0, secludedStart(args)).join(" ")).toBe(amSender ? push : pull);
      });
    }
  }
  test("a LOCAL charset that does not open fails before connecting (exit 4)", () => {
    const o = defaultOptions();
    parseArgv(["--iconv=BOGUS,UTF-8"], [...optionTable, ...modeTable], o);
    expect(() => resolveIconvOption(o, {})).toThrow('iconv_open("UTF-8", "BOGUS") failed');
  });
});
