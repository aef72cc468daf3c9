/**
 * The key columns of a published dataset, which a merge upserts by and a
 * webhook tells changes and deletes apart with, when the publication names
 * none: a view's `@keys`, or the keys its collect slice merges a table by.
 * Locally they come from the flow's files; in AWS, where there are none,
 * from the metadata: the view's applied version, or the collect slice's
 * config as its Plan function stored it.
 */
import type { MetadataStore } from '../metadata/store.ts';
import { ORGANIZE_SLICE, type SliceDefinition } from '../slice.ts';

/** The keys a collect slice's config merges `<slice>.<table>` by; undefined when it names none. */
export function collectedTableKeys(source: { type: string; config: unknown }, dataset: string, findType: (type: string) => SliceDefinition<unknown> | undefined): string[] | undefined {
  const table = dataset.slice(dataset.indexOf('.') + 1);
  return findType(source.type)?.loadOptions?.(source.config, table)?.keys;
}

/**
 * From the metadata. A view is a dataset with stored versions under the
 * organize slice; its keys are those of its newest applied version that did
 * not remove it. Anything else is `<collect slice>.<table>`, and only then is
 * that slice's stored config read (a harness role may read that one item
 * besides the organize slice's: see the harness construct).
 */
export async function datasetKeysFromMetadata(
  metadata: MetadataStore,
  dataset: string,
  findType: (type: string) => SliceDefinition<unknown> | undefined,
): Promise<string[] | undefined> {
  const versions = await metadata.listViewVersions(ORGANIZE_SLICE, dataset);
  if (versions.length > 0) {
    // A version counts only once its update set is recorded (an apply that crashed switches nothing).
    const applied = new Set((await metadata.listUpdateSets(ORGANIZE_SLICE)).map((u) => u.id));
    const latest = versions.filter((v) => applied.has(v.updateSet) && !v.removed).pop();
    return latest && latest.header.keys.length > 0 ? latest.header.keys : undefined;
  }
  const source = await metadata.getSliceConfig(dataset.slice(0, dataset.indexOf('.')));
  return source === undefined ? undefined : collectedTableKeys(source, dataset, findType);
}
