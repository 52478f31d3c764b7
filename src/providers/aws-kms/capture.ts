import type { Collected } from "../../model/key.ts";
import type { Clock } from "../key-provider.ts";
import { toCollectionError } from "./aws-error.ts";

/**
 * Runs one provider call and keeps either its value or the reason it failed, stamped with the clock.
 * This is the only place calls are caught: nothing is dropped, every failure names its call.
 */
export async function capture<T>(call: string, clock: Clock, run: () => Promise<T>): Promise<Collected<T>> {
  try {
    const value = await run();
    return { ok: true, value, call, capturedAt: clock().toISOString() };
  } catch (error) {
    return { ok: false, error: toCollectionError(call, error), capturedAt: clock().toISOString() };
  }
}

/** Every item of every page of an SDK paginator. */
export async function collectPages<Page, Item>(
  pages: AsyncIterable<Page>,
  itemsOf: (page: Page) => readonly Item[] | undefined,
): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of pages) items.push(...(itemsOf(page) ?? []));
  return items;
}
