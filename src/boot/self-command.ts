/** How this program runs itself again: a daemon detaching, a daemon's worker per client, a local copy's sending half. */

/** Whether this is the `bun build --compile` executable (Bun's virtual path of its own code), not `bun src/main.ts`. */
export const compiledExecutable = Bun.main.startsWith("/$bunfs/");

/** The command that runs this program with `args`: the executable alone once compiled, the runtime and the script from source. */
export function selfCommand(...args: string[]): string[] {
  return compiledExecutable ? [process.execPath, ...args] : [process.execPath, Bun.main, ...args];
}
