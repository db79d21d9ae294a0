/**
 * -s / --secluded-args (upstream's protect_args): the server's command line
 * (or a daemon's argument lines) carries only "--server", "--sender" and the
 * cluster of short options, which holds the 's'; everything after it (long
 * options, ".", the paths) follows on the connection, before the version
 * exchange, as NUL-terminated strings after an "rsync" that stands for
 * argv[0], ended by an empty one (rsync.c send_protected_args, main.c and
 * clientserver.c read_args). Nothing is escaped: no shell sees them.
 */
import { RERR, RsyncError } from "../errors.ts";
import type { Input } from "../io/input.ts";

export const MAX_ARG_LENGTH = 4096;
export const MAX_ARGS = 2048;

/** Where the secluded part of a server argument vector starts: after the short-option cluster. */
export function secludedStart(serverArgs: readonly string[]): number {
  const cluster = serverArgs.findIndex((a) => /^-[^-]/.test(a));
  if (cluster < 0) return serverArgs.length;
  // --iconv stays on the command line: the server needs it to read the rest (rsync.c send_protected_args).
  return serverArgs[cluster + 1]?.startsWith("--iconv=") ? cluster + 2 : cluster + 1;
}

/**
 * The bytes that carry the secluded arguments (an empty one is sent as ".").
 * `convert`: --iconv's conversion of each from our charset to UTF-8.
 */
export function secludedArgsBytes(args: readonly string[], convert?: ((arg: Uint8Array) => Uint8Array) | null): Uint8Array {
  // Arguments are strings as argv gave them (UTF-8), as on a command line.
  const words = ["rsync", ...args].map((a) => {
    const bytes = new Uint8Array(Buffer.from(a === "" ? "." : a));
    return Buffer.concat([convert ? convert(bytes) : bytes, Buffer.from([0])]);
  });
  return new Uint8Array(Buffer.concat([...words, Buffer.from([0])]));
}

/**
 * Reads argument words until an empty one: NUL-terminated, or (a daemon
 * below protocol 30) newline-terminated with "\r" dropped.
 */
export async function readArgWords(input: Input, nulTerminated: boolean): Promise<string[]> {
  const args: string[] = [];
  const sep = nulTerminated ? 0 : 0x0a;
  for (;;) {
    const word = await input.read((r) => {
      const bytes: number[] = [];
      for (;;) {
        const b = r.u8();
        // Decoded as the command line of a --server is (UTF-8), so both ways of arriving agree.
        if (b === sep) return Buffer.from(bytes).toString();
        if (b !== 0x0d || sep !== 0x0a) bytes.push(b);
        if (bytes.length > MAX_ARG_LENGTH) throw new RsyncError(RERR.PROTOCOL, "rsync: an argument from the client is too long");
      }
    });
    if (word === "") return args;
    if (args.length >= MAX_ARGS) throw new RsyncError(RERR.PROTOCOL, "rsync: too many arguments from the client");
    args.push(word);
  }
}

/** The secluded arguments a server reads (without the leading "rsync"). */
export async function readSecludedArgs(input: Input): Promise<string[]> {
  return (await readArgWords(input, true)).slice(1);
}
