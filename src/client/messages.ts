/**
 * Out-of-band messages from the server (io.c read_a_msg, client side):
 * text goes to stdout/stderr as upstream shows it; the others update the
 * session's state.
 */
import { peerExited } from "../errors.ts";
import { IOERR_VALID_MASK } from "../flist/decode.ts";
import { MSG } from "../protocol/mux.ts";
import type { Input } from "../io/input.ts";
import type { Output } from "../io/output.ts";
import { terminal } from "../output/terminal.ts";

export interface MessageState {
  ioError: number;
  hadTransferError: boolean;
  /** Set when the server announced a fatal exit (MSG_ERROR_EXIT). */
  serverExit: number | null;
  /** Called for MSG_NO_SEND(ndx): the sender could not open the file. */
  noSend(ndx: number): void;
  /** A MSG_IO_TIMEOUT lowered our timeout. */
  timeout: number;
  /** MSG_DELETED: the peer deleted a file (a receiving server tells a pushing client; log_delete says so). */
  deleted?(name: Uint8Array, isDir: boolean): void;
  /** --info=MISC level: at 2 a timeout lowered to the server's is said. */
  infoMisc: number;
}

/** A session's message state; --timeout is shared with the watchdog, which a daemon may lower. */
export function newMessageState(timeouts: { value: number }, hooks: Pick<MessageState, "noSend" | "deleted">, infoMisc = 0): MessageState {
  return {
    infoMisc,
    ioError: 0,
    hadTransferError: false,
    serverExit: null,
    get timeout() {
      return timeouts.value;
    },
    set timeout(v: number) {
      timeouts.value = v;
    },
    noSend: hooks.noSend,
    deleted: hooks.deleted,
  };
}

/** Handles the peer's messages from now on; one that ends the session fails the reads waiting on `input`. */
export function listenForMessages(input: Input, output: Output, state: MessageState, protocol: number): void {
  input.setMessageHandler((code, payload) => {
    try {
      handleServerMessage(code, payload, state, output, protocol);
    } catch (e) {
      input.fail(e);
    }
  });
}

/** The longest timeout (seconds) a server may ask for (io.c read_a_msg caps MSG_IO_TIMEOUT at a day). */
const MAX_PEER_TIMEOUT = 86400;

/** A message's 4-byte value (the demultiplexer refused any other length for the codes that carry one). */
const int32 = (p: Uint8Array) => new DataView(p.buffer, p.byteOffset, 4).getInt32(0, true);

export function handleServerMessage(code: number, payload: Uint8Array, state: MessageState, output: Output, protocol: number): void {
  switch (code) {
    // A server's lines are UTF-8 under --iconv (read_a_msg: rwrite with is_utf8).
    case MSG.INFO:
      terminal.info(payload, true);
      return;
    case MSG.ERROR_XFER:
      state.hadTransferError = true;
      terminal.error(payload, true);
      return;
    case MSG.ERROR:
    case MSG.WARNING:
      terminal.error(payload, true);
      return;
    case MSG.IO_ERROR:
      // Only the bits there are (io.c read_a_msg): others would skip deletions for an error no one had.
      state.ioError |= int32(payload) & IOERR_VALID_MASK;
      return;
    case MSG.NO_SEND:
      state.noSend(int32(payload));
      return;
    case MSG.IO_TIMEOUT: {
      // A daemon's own timeout, which may only shorten ours. As upstream (3.5.0), a value of none or less, or of more
      // than a day, is ignored: a server must not switch our --timeout off, nor end the run at once.
      const t = int32(payload);
      if (t <= 0 || t > MAX_PEER_TIMEOUT) return;
      if (state.timeout && state.timeout <= t) return;
      if (state.infoMisc >= 2) terminal.info(`Setting --timeout=${t} to match server\n`);
      state.timeout = t;
      return;
    }
    case MSG.NOOP:
      return;
    case MSG.DELETED: {
      // A directory's name comes with its terminating NUL.
      const isDir = payload.length > 0 && payload[payload.length - 1] === 0;
      state.deleted?.(isDir ? payload.subarray(0, -1) : payload, isDir);
      return;
    }
    case MSG.SUCCESS:
      // Unless --remove-source-files routed it to the remover, upstream's successful_send does nothing with it.
      return;
    case MSG.ERROR_EXIT: {
      const exitCode = payload.length === 0 ? 0 : int32(payload);
      // As the generator side, we pass the code back (protocol 31+), then exit with it.
      if (protocol >= 31 && payload.length === 4) output.messageInt(MSG.ERROR_EXIT, exitCode);
      state.serverExit = exitCode;
      // The server has reported its error: like upstream's _exit_cleanup after MSG_ERROR_EXIT, we add no line of our own.
      throw peerExited(exitCode, 1);
    }
    // (No other code gets here: the demultiplexer refuses them, as upstream's read_a_msg does.)
  }
}
