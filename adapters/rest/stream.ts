/** A procedure whose output is a file (meta.stream): written as the body itself, not the envelope. */
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface StreamedFile {
  filename: string;
  contentType: string;
  lines: AsyncIterable<string>;
}

/** Writes a procedure's file output as the body, respecting backpressure and client disconnects. */
export async function streamFile(req: IncomingMessage, res: ServerResponse, file: StreamedFile): Promise<void> {
  res.statusCode = 200;
  res.setHeader('Content-Type', file.contentType);
  res.setHeader('Content-Disposition', `attachment; filename="${file.filename.replace(/[^\w.-]/g, '_')}"`);
  try {
    for await (const line of file.lines) {
      if (res.destroyed) return;
      if (!res.write(line)) await once(res, 'drain');
    }
    res.end();
  } catch (error) {
    // Headers are gone: all that is left is to cut the response, so the client sees it incomplete.
    req.log.error({ err: error, reqId: req.id }, 'export failed mid-stream');
    res.destroy(error as Error);
  }
}
