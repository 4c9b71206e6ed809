/**
 * The connection to collection.db a Collection reads and writes through. A writer's never changes.
 * A reader that reads a snapshot (database-snapshot.ts) replaces it once the file changed
 * (refresh(), before a read), and each replacement bumps `version`.
 *
 * A read that spans an await (the index reload) runs in hold(): it keeps the connection and the
 * statements it started with, so it never mixes two snapshots, and a connection replaced meanwhile
 * stays open until the last read holding it has finished (closing it would end that read's
 * transaction under it).
 */
import type Database from 'better-sqlite3';
import { snapshotChanged } from './database-snapshot.ts';
import { Statements } from './store.ts';

type Db = Database.Database;

/** A connection, its statements, and the version of the CurrentDatabase it was at. */
export interface HeldDatabase {
  readonly db: Db;
  readonly st: Statements;
  readonly version: number;
}

export class CurrentDatabase {
  readonly #path: string;
  readonly #reopen: () => Db;
  #current: HeldDatabase;
  /** Reads in hold() per connection. */
  readonly #holds = new Map<Db, number>();
  /** Replaced connections still held by a read: closed when it finishes. */
  readonly #retired = new Set<Db>();

  /** `reopen` opens the database afresh (verified) when a snapshot is out of date. */
  constructor(db: Db, path: string, reopen: () => Db) {
    this.#path = path;
    this.#reopen = reopen;
    this.#current = { db, st: new Statements(db), version: 0 };
  }

  get db(): Db {
    return this.#current.db;
  }

  get st(): Statements {
    return this.#current.st;
  }

  get version(): number {
    return this.#current.version;
  }

  /** Replaces a snapshot once its file changed or a writer opened it; true when it was replaced. */
  refresh(): boolean {
    if (!snapshotChanged(this.#current.db, this.#path)) return false;
    const db = this.#reopen();
    const old = this.#current.db;
    this.#current = { db, st: new Statements(db), version: this.#current.version + 1 };
    if (this.#holds.has(old)) this.#retired.add(old);
    else old.close();
    return true;
  }

  /** Runs `read` on the current connection, kept open (even if replaced meanwhile) until `read` settles. */
  async hold<T>(read: (held: HeldDatabase) => Promise<T>): Promise<T> {
    const held = this.#current;
    this.#holds.set(held.db, (this.#holds.get(held.db) ?? 0) + 1);
    try {
      return await read(held);
    } finally {
      const n = this.#holds.get(held.db)! - 1;
      if (n > 0) {
        this.#holds.set(held.db, n);
      } else {
        this.#holds.delete(held.db);
        if (this.#retired.delete(held.db)) held.db.close();
      }
    }
  }

  /** Closes the current connection and any replaced one still open. */
  close(): void {
    try {
      this.#current.db.close();
    } finally {
      for (const db of this.#retired) db.close();
      this.#retired.clear();
    }
  }
}
