/**
 * A `text/event-stream` parser (the WHATWG HTML server-sent events rules), fed chunks of any
 * size: lines end at CR, LF or CRLF only (never U+2028 or U+0085), a CRLF split across two
 * chunks counts once, a leading byte order mark is ignored. Feed it text decoded as UTF-8 in
 * streaming mode (`TextDecoderStream`, or `TextDecoder.decode(chunk, { stream: true })`). Held to `contract/fixtures/sse/transcripts.json`.
 */

/** A dispatched event; `id` is the last event id when it was dispatched (null: none). */
export interface SseEvent {
  event: string;
  data: string;
  id: string | null;
}

export class SseParser {
  /** What to send back as `Last-Event-ID` when reconnecting (null: none yet): the id
   * buffer as of the last complete event (an event cut off before its blank line does not
   * count). */
  lastEventId: string | null = null;
  #idBuffer: string | null = null;
  /** The reconnection time the server asked for, in ms (undefined: not told). */
  retry: number | undefined = undefined;
  #buffer = "";
  #afterCr = false;
  #data: string[] = [];
  #hasData = false;
  #event = "";
  #started = false;

  /** Feed a chunk of the stream; the events it completes. */
  push(chunk: string): SseEvent[] {
    const events: SseEvent[] = [];
    let text = chunk;
    if (!this.#started && text) {
      this.#started = true;
      if (text.startsWith("\uFEFF")) text = text.slice(1); // a byte order mark is ignored
    }
    if (this.#afterCr && text.startsWith("\n")) text = text.slice(1); // the LF of a split CRLF
    this.#afterCr = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(this.#buffer + text.slice(start, i), events);
      this.#buffer = "";
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.#afterCr = true;
        }
      }
      start = i + 1;
    }
    this.#buffer += text.slice(start);
    return events;
  }

  #line(line: string, events: SseEvent[]): void {
    if (line === "") {
      this.lastEventId = this.#idBuffer;
      if (this.#hasData) {
        events.push({ event: this.#event || "message", data: this.#data.join("\n"), id: this.#idBuffer });
      }
      this.#data = [];
      this.#hasData = false;
      this.#event = "";
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.#data.push(value);
      this.#hasData = true;
    } else if (field === "event") {
      this.#event = value;
    } else if (field === "id") {
      if (!value.includes("\0")) this.#idBuffer = value;
    } else if (field === "retry") {
      if (/^[0-9]+$/.test(value)) this.retry = Number(value);
    }
  }
}
