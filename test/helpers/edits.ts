/** Edits applied to a basis to make a changed file (the matcher property tests' inputs). */
export interface Edit {
  kind: string;
  at: number;
  bytes?: Uint8Array;
  len?: number;
}

/** Each edit in turn: insert, delete or overwrite at `at` (wrapped to the current length). */
export function applyEdits(basis: Uint8Array, edits: Edit[]): Uint8Array {
  let d = Buffer.from(basis);
  for (const e of edits) {
    const at = d.length === 0 ? 0 : e.at % (d.length + 1);
    if (e.kind === "insert") d = Buffer.concat([d.subarray(0, at), e.bytes!, d.subarray(at)]);
    else if (e.kind === "delete") d = Buffer.concat([d.subarray(0, at), d.subarray(at + e.len!)]);
    else d = Buffer.concat([d.subarray(0, at), e.bytes!, d.subarray(at + e.bytes!.length)]);
  }
  return new Uint8Array(d);
}
