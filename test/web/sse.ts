export interface SseMessage {
  event: string;
  data: unknown;
}

/**
 * Reads a server-sent event stream until `done(messagesSoFar)` holds, then disconnects.
 * Rejects after `timeoutMs` with what arrived so far.
 */
export async function readSse(url: URL, done: (messages: SseMessage[]) => boolean, timeoutMs: number): Promise<SseMessage[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const messages: SseMessage[] = [];
  try {
    const res = await fetch(url, { signal: controller.signal, headers: { Accept: 'text/event-stream' } });
    if (!res.ok || !res.body) throw new Error(`${url}: ${res.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (!data.length) continue;
        messages.push({ event, data: JSON.parse(data.join('\n')) as unknown });
        if (done(messages)) return messages;
      }
    }
    throw new Error('event stream ended early');
  } catch (err) {
    if (controller.signal.aborted) throw new Error(`no end of stream within ${timeoutMs} ms; got ${JSON.stringify(messages.slice(-5))}`);
    throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
