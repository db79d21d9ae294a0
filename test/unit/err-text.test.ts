/** errText: system errors worded as upstream's strerror words them (glibc), not as node's libuv does. */
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errText, systemError } from "../../src/fs/errors.ts";

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("no error");
}

test("node's errors get glibc's words where libuv's differ", () => {
  const dir = mkdtempSync(join(tmpdir(), "oc-errtext-"));
  try {
    fs.symlinkSync("loop", join(dir, "loop"));
    expect(errText(thrown(() => fs.readFileSync(join(dir, "loop"))))).toBe("Too many levels of symbolic links (40)");
    expect(errText(thrown(() => fs.mkdirSync(dir)))).toBe("File exists (17)");
    expect(errText(thrown(() => fs.readFileSync(dir)))).toBe("Is a directory (21)");
    expect(errText(thrown(() => fs.readFileSync(join(dir, "missing"))))).toBe("No such file or directory (2)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("errors made from a native errno read the same", () => {
  expect(errText(systemError(18, "rename", "/x"))).toBe("Invalid cross-device link (18)");
  expect(errText(systemError(5, "read", "/x"))).toBe("Input/output error (5)");
});
