/**
 * The correctness gate after every timed run: upstream rsync, locally, in
 * dry-run itemize mode with -a semantics (content by size+mtime, perms,
 * owner, group, symlink targets and times) and --delete. Any itemized line,
 * the top directory's included, means dest differs from the source.
 * A fast wrong answer is a failure, not a result.
 */
import { run } from "./proc.ts";

export interface Verdict {
  ok: boolean;
  /** The first differing items (empty when ok). */
  diff: string[];
}

export async function verifyTree(src: string, dest: string): Promise<Verdict> {
  const r = await run(["rsync", "-ani", "--delete", `${src}/`, `${dest}/`]);
  if (r.code !== 0) return { ok: false, diff: [`rsync -ani exited ${r.code}: ${r.stderr.trim()}`] };
  const lines = r.stdout.split("\n").filter((l) => l.length > 0);
  return { ok: lines.length === 0, diff: lines.slice(0, 10) };
}
