// Native libraries are imported as files: the import yields their path (embedded by bun build --compile).
declare module "*.so" {
  const path: string;
  export default path;
}
declare module "*.dylib" {
  const path: string;
  export default path;
}
