import type { ManagerEvent, SequencedEvent } from "../../shared/events";

type Listener = (event: SequencedEvent) => void;

/**
 * Fans state changes out to SSE subscribers and keeps the last `capacity` events so a client that
 * reconnects with Last-Event-ID gets what it missed. Ids start at the manager's start time in ms,
 * so ids of a previous manager instance are never mistaken for current ones.
 */
export class EventBus {
  private readonly buffer: SequencedEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private nextId: number;

  constructor(
    private readonly capacity = 1000,
    firstId = Date.now(),
  ) {
    this.nextId = firstId;
  }

  /** Announces a change to every subscriber. */
  publish(event: ManagerEvent): SequencedEvent {
    const sequenced = { ...event, id: this.nextId++ };
    this.buffer.push(sequenced);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    for (const listener of this.listeners) listener(sequenced);
    return sequenced;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  /** The id the next event will get. */
  get currentId(): number {
    return this.nextId - 1;
  }

  /**
   * Events after `lastId`, or undefined when the client is too far behind (or from another
   * manager instance) and must refetch.
   */
  since(lastId: number): SequencedEvent[] | undefined {
    if (lastId === this.currentId) return [];
    if (lastId > this.currentId) return undefined;
    const oldest = this.buffer[0];
    if (!oldest || lastId < oldest.id - 1) return undefined;
    return this.buffer.filter((event) => event.id > lastId);
  }
}
