/**
 * A device's contents read as a file's (--copy-devices): the sender lists
 * the device as a regular file of the device's length (flist.c make_file)
 * and sends exactly that many bytes (sender.c send_files). A stat says 0
 * for a device's size, so the length is found by seeking to its end
 * (get_device_size): a block device's capacity, 0 for most char devices
 * (/dev/zero, /dev/null), whose contents then go as an empty file.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { protocolError } from "../errors.ts";
import type { FileStat } from "../flist/build.ts";
import { S_IFREG, isDevice } from "../flist/table.ts";
import { deviceLength } from "./libc.ts";

const ACCESSPERMS = 0o777;

/**
 * The entry a device is listed as: a regular file of the device's length,
 * dated now (the node's mtime says nothing of its contents). Upstream sets
 * only the seconds, so the node's nanoseconds stay.
 */
export function deviceAsFile(path: Uint8Array, st: FileStat): FileStat {
  let size = st.size;
  if (size === 0) {
    try {
      const fd = openSync(Buffer.from(path.buffer, path.byteOffset, path.byteLength), constants.O_RDONLY);
      try {
        size = deviceLength(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // An unreadable device is listed empty; its transfer reports the error.
    }
  }
  return { ...st, mode: S_IFREG | (st.mode & ACCESSPERMS), size, mtime: Math.floor(Date.now() / 1000) };
}

/**
 * How much of an opened source is sent: for a device, its length (and only
 * with --copy-devices: otherwise upstream's sender gives up, as a device
 * turned up where a file was listed); undefined for a file, read to its end.
 */
export function deviceContentLength(fd: number, copyDevices: boolean): number | undefined {
  const st = fstatSync(fd);
  return isDevice(st.mode) ? deviceSendLength(fd, st.size, copyDevices) : undefined;
}

/** How much of an opened source is sent: a device's length as deviceContentLength says, else the file's size (one fstat either way). */
export function sourceLength(fd: number, copyDevices: boolean): number {
  const st = fstatSync(fd);
  return isDevice(st.mode) ? deviceSendLength(fd, st.size, copyDevices) : st.size;
}

function deviceSendLength(fd: number, statSize: number, copyDevices: boolean): number {
  if (!copyDevices) throw protocolError("attempt to copy device contents without --copy-devices");
  return statSize || deviceLength(fd);
}

/** A device's length through a descriptor `open` gives (0 when it cannot be opened, as upstream leaves the size then). */
export function openedDeviceLength(open: () => number): number {
  let fd: number;
  try {
    fd = open();
  } catch {
    return 0;
  }
  try {
    return deviceLength(fd);
  } finally {
    closeSync(fd);
  }
}

/** The first `length` bytes of an open descriptor (fewer if it ends sooner). */
export function readLength(fd: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let at = 0;
  while (at < length) {
    const n = readSync(fd, out, at, length - at, null);
    if (n <= 0) break;
    at += n;
  }
  return at === length ? out : out.subarray(0, at);
}
