/**
 * The cache management calls of the repository settings routers (`listCaches`, `getCacheStats`,
 * `deleteCache`, `clearCaches`), as typed calls on the binary's `--json` documents: the store
 * and its statistics live in the binary's index, so the web app keeps no table of its own.
 */

import {
  WitCache,
  WitCacheError,
  type EntryDocument,
  type SortOrder,
  type WitCacheOptions,
} from "./binary.js";

/** One cache entry, with the field names the settings page reads (`size`, `accessCount`, …). */
export interface CacheEntry {
  id: number | null;
  key: string;
  scope: string | null;
  version: string;
  paths: string[];
  compression: string;
  /** Archive size in bytes. */
  size: number;
  unpackedBytes: number;
  fileCount: number;
  /** SHA-256 of the archive. */
  digest: string;
  createdAt: Date;
  lastAccessedAt: Date | null;
  accessCount: number | null;
  createdByRun: string | null;
}

export interface CacheStats {
  /** Bytes of all entries of the repo. */
  totalSize: number;
  cacheCount: number;
  /** (hits + partial hits) / restore attempts; 0 when there were none. */
  hitRate: number;
  hits: number;
  /** Restores from a restore key or a key prefix (`cache-hit=false`). */
  partialHits: number;
  misses: number;
  bytesRestored: number;
  restoreMs: number;
  topKeys: { key: string; restores: number }[];
}

export interface ListOptions {
  prefix?: string;
  scope?: string;
  /** Default `last-used`: the most recently used first. */
  sort?: SortOrder;
  limit?: number;
}

export class CacheService {
  readonly cache: WitCache;

  constructor(options: WitCacheOptions | WitCache = {}) {
    this.cache = options instanceof WitCache ? options : new WitCache(options);
  }

  /** The repo's entries, most recently used first unless `sort` says otherwise. */
  async listCaches(repoId: string, options: ListOptions = {}): Promise<CacheEntry[]> {
    const { doc } = await this.cache.list(repoId, { sort: "last-used", ...options });
    return doc.map(toEntry);
  }

  async getCacheStats(repoId: string): Promise<CacheStats> {
    const { doc } = await this.cache.stats(repoId);
    const r = doc.repos.find((x) => x.repo === repoId);
    return {
      totalSize: r?.sizeBytes ?? 0,
      cacheCount: r?.entries ?? 0,
      hitRate: r?.hitRate ?? 0,
      hits: r?.hits ?? 0,
      partialHits: r?.partialHits ?? 0,
      misses: r?.misses ?? 0,
      bytesRestored: r?.bytesRestored ?? 0,
      restoreMs: r?.restoreMs ?? 0,
      topKeys: doc.topKeys
        .filter((t) => t.repo === repoId)
        .map(({ key, restores }) => ({ key, restores })),
    };
  }

  /**
   * Deletes every entry with the key (all scopes and versions; keys compare ignoring case).
   * False when there is none, so that the router can answer NOT_FOUND.
   */
  async deleteCache(repoId: string, key: string): Promise<boolean> {
    try {
      const { doc } = await this.cache.delete(repoId, { key });
      return doc.deleted > 0;
    } catch (e) {
      // "Not found" is exit 1, like an unreadable store: tell them apart by looking.
      if (e instanceof WitCacheError && e.exitCode === 1 && !(await this.hasKey(repoId, key)))
        return false;
      throw e;
    }
  }

  /** Deletes every entry of the repo. */
  async clearCaches(repoId: string): Promise<{ deleted: number; freedBytes: number }> {
    const { doc } = await this.cache.delete(repoId, { all: true });
    return { deleted: doc.deleted, freedBytes: doc.freedBytes };
  }

  private async hasKey(repoId: string, key: string): Promise<boolean> {
    const { doc } = await this.cache.list(repoId, { prefix: key });
    return doc.some((e) => fold(e.key) === fold(key));
  }
}

/** The store's key comparison: each character lower-cased on its own. */
function fold(s: string): string {
  return Array.from(s, (c) => c.toLowerCase()).join("");
}

function toEntry(e: EntryDocument): CacheEntry {
  return {
    id: e.id,
    key: e.key,
    scope: e.scope,
    version: e.version,
    paths: e.paths,
    compression: e.compression,
    size: e.sizeBytes,
    unpackedBytes: e.unpackedBytes,
    fileCount: e.fileCount,
    digest: e.digest,
    createdAt: e.createdAt,
    lastAccessedAt: e.lastAccessedAt,
    accessCount: e.accessCount,
    createdByRun: e.createdByRun,
  };
}

/** A service on the binary found as `$WIT_CACHE_BIN` or `wit-cache` on PATH, with the process's environment. */
export const cacheService = new CacheService();
