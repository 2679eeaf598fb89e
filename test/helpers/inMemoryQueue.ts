import type { HostedMessage, HostedQueue, PoisonQueue } from '../../src/lib/failover/queueHost.js';

interface StoredMessage {
  messageId: string;
  messageText: string;
  popReceipt: string;
  dequeueCount: number;
  /** `Date.now()` from which a receive may return it. */
  visibleAt: number;
}

/** A queue service error as the SDK throws it: the status and the service's error code. */
class QueueError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
  ) {
    super(`${statusCode} ${code}`);
  }
}

/**
 * A Storage queue in memory, for the queue host's fast tests: the calls `runQueueHost` makes, with
 * Azure's visibility rules (Get Messages, Update Message, Delete Message in the Queue service REST
 * API): a receive hides a message for its visibility timeout, counts the delivery and issues a new
 * pop receipt; an update or delete needs the latest pop receipt (400 PopReceiptMismatch otherwise,
 * 404 MessageNotFound once deleted); an update returns a new one. Time is `Date.now()`, so a fake
 * clock moves it.
 */
export class InMemoryQueue implements HostedQueue, PoisonQueue {
  private readonly stored: StoredMessage[] = [];
  private nextId = 0;
  private nextReceipt = 0;
  /** Update Message calls, in order: the host's renewals and releases. */
  readonly updates: Array<{ messageId: string; visibilityTimeout: number }> = [];

  constructor(readonly name: string) {}

  /** Messages still in the queue, visible or not. */
  get messages(): readonly StoredMessage[] {
    return this.stored;
  }

  async createIfNotExists(): Promise<void> {}

  async sendMessage(messageText: string, options: { dequeueCount?: number } = {}): Promise<void> {
    this.stored.push({
      messageId: `m${this.nextId++}`,
      messageText,
      popReceipt: '',
      // A message some earlier workers received already (and died with): for the poison rules.
      dequeueCount: options.dequeueCount ?? 0,
      visibleAt: Date.now(),
    });
  }

  async receiveMessages(options: {
    numberOfMessages: number;
    visibilityTimeout: number;
  }): Promise<{ receivedMessageItems: HostedMessage[] }> {
    const now = Date.now();
    const visible = this.stored.filter((m) => m.visibleAt <= now).slice(0, options.numberOfMessages);
    for (const m of visible) {
      m.dequeueCount += 1;
      m.popReceipt = this.receipt();
      m.visibleAt = now + options.visibilityTimeout * 1000;
    }
    return { receivedMessageItems: visible.map((m) => ({ ...m })) };
  }

  async updateMessage(
    messageId: string,
    popReceipt: string,
    message: string,
    visibilityTimeout: number,
  ): Promise<{ popReceipt: string }> {
    const stored = this.find(messageId, popReceipt);
    this.updates.push({ messageId, visibilityTimeout });
    stored.messageText = message;
    stored.popReceipt = this.receipt();
    stored.visibleAt = Date.now() + visibilityTimeout * 1000;
    return { popReceipt: stored.popReceipt };
  }

  async deleteMessage(messageId: string, popReceipt: string): Promise<void> {
    const stored = this.find(messageId, popReceipt);
    this.stored.splice(this.stored.indexOf(stored), 1);
  }

  private find(messageId: string, popReceipt: string): StoredMessage {
    const stored = this.stored.find((m) => m.messageId === messageId);
    if (!stored) throw new QueueError(404, 'MessageNotFound');
    if (stored.popReceipt !== popReceipt) throw new QueueError(400, 'PopReceiptMismatch');
    return stored;
  }

  private receipt(): string {
    return `r${this.nextReceipt++}`;
  }
}
