/**
 * The suite also runs with the native core off (OC_RSYNC_NATIVE=0, as CI
 * checks): tests comparing native with its twin then compare the twin with
 * itself, and say which core they expect.
 */
export const expectedCoreKind = process.env.OC_RSYNC_NATIVE === "0" ? "typescript" : "native";
