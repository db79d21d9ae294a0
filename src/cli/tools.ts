/**
 * oc-rsync's own subcommands, for developers and the setup demo. They are
 * reached only through names that start with "oc-" (e.g. `oc-rsync
 * oc-checksum FILE`), so every other command line stays rsync's.
 */
import { defineCommand, type CommandDef } from "citty";
import { core, digestHex, HashAlg } from "../native/index.ts";
import { usageError } from "../errors.ts";

const ALGS: Record<string, HashAlg> = {
  xxh128: HashAlg.XXH3_128,
  xxh3: HashAlg.XXH3_64,
  xxh64: HashAlg.XXH64,
  xxhash: HashAlg.XXH64,
  md5: HashAlg.MD5,
  md4: HashAlg.MD4,
  sha1: HashAlg.SHA1,
};

const CHUNK = 1 << 20;

/** Whole-file digest, read in chunks through the streaming hasher. */
async function fileDigest(alg: HashAlg, path: string): Promise<Uint8Array> {
  const hasher = core.createHasher(alg);
  const file = Bun.file(path);
  for (let offset = 0; offset < file.size; offset += CHUNK) {
    hasher.update(new Uint8Array(await file.slice(offset, offset + CHUNK).arrayBuffer()));
  }
  return hasher.digest();
}

const checksum = defineCommand({
  meta: { name: "oc-checksum", description: "print each file's whole-file checksum as rsync's %C does" },
  args: {
    "checksum-choice": { type: "string", description: "xxh128 (default), xxh3, xxh64, md5, md4 or sha1", default: "xxh128" },
    files: { type: "positional", required: true, description: "files to checksum" },
  },
  async run({ args }) {
    const name = args["checksum-choice"];
    const alg = ALGS[name];
    if (alg === undefined) throw usageError(`unknown checksum name: ${name}`);
    for (const path of args._) {
      process.stdout.write(`${digestHex(alg, await fileDigest(alg, path))} ${path}\n`);
    }
  },
});

export const tools: Record<string, CommandDef> = {
  "oc-checksum": checksum as CommandDef,
};
