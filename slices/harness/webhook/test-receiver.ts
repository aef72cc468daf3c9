/**
 * For tests: a real HTTP receiver on 127.0.0.1 (a free port) that records
 * every request and answers as the test scripts it. It keeps what a careful
 * receiver keeps: how many times it accepted each Idempotency-Key.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The status the receiver answered. */
  status: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
}

export class TestReceiver {
  readonly url: string;
  readonly requests: ReceivedRequest[] = [];
  /** Idempotency-Key → how many requests under it were answered 2xx. */
  readonly accepted = new Map<string, number>();
  /** Decides each answer; `n` counts requests from 1 since the last reset. */
  answer: (request: ReceivedRequest, n: number) => Answer = () => ({ status: 200 });
  private readonly server: Server;
  private count = 0;

  private constructor(server: Server, url: string) {
    this.server = server;
    this.url = url;
  }

  static async start(): Promise<TestReceiver> {
    // The handler needs the receiver, which needs the server's port: it is filled in once listening.
    const self: { receiver?: TestReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const r = self.receiver!;
        const request: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: 0 };
        const answer = r.answer(request, ++r.count);
        request.status = answer.status;
        r.requests.push(request);
        if (answer.status >= 200 && answer.status <= 299) {
          const key = String(req.headers['idempotency-key']);
          r.accepted.set(key, (r.accepted.get(key) ?? 0) + 1);
        }
        res.writeHead(answer.status, { 'Content-Type': 'text/plain', ...answer.headers });
        res.end(answer.status >= 400 ? 'no thanks' : 'ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    self.receiver = new TestReceiver(server, `http://127.0.0.1:${port}`);
    return self.receiver;
  }

  /** Forgets what was received and answers 200 again. */
  reset(): void {
    this.requests.length = 0;
    this.accepted.clear();
    this.count = 0;
    this.answer = () => ({ status: 200 });
  }

  /** Answers these statuses in turn, then 200. */
  script(answers: Answer[]): void {
    this.answer = (_r, n) => answers[n - 1] ?? { status: 200 };
  }

  /** Each request's body parsed, in arrival order. */
  bodies(): WebhookBody[] {
    return this.requests.map((r) => JSON.parse(r.body) as WebhookBody);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface WebhookBody {
  publication: string;
  dataset: string;
  timelabel: string;
  batch: number;
  batches: number;
  upserts: Record<string, unknown>[];
  deletes: Record<string, unknown>[];
}
