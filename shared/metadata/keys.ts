/**
 * Keys of the metadata table, following the layout fixed in types.ts. The IAM
 * policies of the slice stacks match `SLICE#<slice>` and `SLICE#<slice>#*` with
 * `dynamodb:LeadingKeys`, so a change here is a change to the security model.
 */
import { TerminalError } from '../errors.ts';

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';

export interface ItemKey {
  pk: string;
  sk: string;
}

const SEP = '#';
const CONFIG_SK = 'CONFIG';
const LOADUNIT_PREFIX = 'LOADUNIT#';
const BATCH_PREFIX = 'BATCH#';
const SCHEMA_VERSION_PREFIX = 'V#';
const EVENT_ID_PREFIX = 'ID#';
const VIEW_INDEX_PREFIX = 'VIEW#';
const UPDATE_SET_PREFIX = 'US#';
const VENDOR_PK = 'VENDOR';
/** Zero-padded so a timelabel's delivered batches sort by number. */
const DELIVERY_BATCH_DIGITS = 6;
export const MAX_DELIVERY_BATCH = 10 ** DELIVERY_BATCH_DIGITS - 1;
/** Zero-padded so the sort key orders versions numerically. */
const SCHEMA_VERSION_DIGITS = 6;
const MAX_SCHEMA_VERSION = 10 ** SCHEMA_VERSION_DIGITS - 1;

/** Sort key of version `version` of `what`, for schema and view versions alike. */
function versionSk(what: string, version: number): string {
  if (!Number.isInteger(version) || version < 1 || version > MAX_SCHEMA_VERSION) {
    throw new TerminalError('internal', `version ${version} of ${what} is outside 1..${MAX_SCHEMA_VERSION}; expected the registry's key width to hold it`, {
      code: 'metadata.invalid-key',
    });
  }
  return `${SCHEMA_VERSION_PREFIX}${String(version).padStart(SCHEMA_VERSION_DIGITS, '0')}`;
}

/**
 * Event sort keys start with an ISO time (a digit); `:` sorts right after `9`
 * and before the `ID#` idempotency markers that share the partition, so a range
 * up to it selects exactly the events.
 */
export const EVENT_SK_UPPER_BOUND = ':';

/**
 * A name inside a key must not contain `#`: a loadunit `a#b` would make the
 * `BATCH#a#` prefix query return another loadunit's batches, and a slice
 * `x#SCHEMA` would reach into another partition that the IAM policy grants.
 */
export function checkKeyPart(what: string, value: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TerminalError('config', `${what} is ${JSON.stringify(value)}; expected a non-empty name`, {
      code: 'metadata.invalid-key',
    });
  }
  // eslint-disable-next-line no-control-regex
  if (value.includes(SEP) || /[\u0000-\u001f]/.test(value)) {
    throw new TerminalError(
      'config',
      `${what} ${JSON.stringify(value)} contains '#' or a control character; expected a name without them ('#' separates the parts of a metadata key)`,
      { code: 'metadata.invalid-key' },
    );
  }
  return value;
}

const TIMELABEL = /^\d{12}00$/;

export function checkTimelabel(value: string): string {
  if (typeof value !== 'string' || !TIMELABEL.test(value)) {
    throw new TerminalError('config', `timelabel ${JSON.stringify(value)} is not of the form YYYYMMDDHHmm00 (UTC)`, {
      code: 'metadata.invalid-key',
    });
  }
  return value;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Event times are part of a sort key, so they must all have the one fixed-width
 * form `Date#toISOString` gives; anything `Date` can parse is normalized to it.
 */
export function normalizeIsoTime(what: string, value: string): string {
  const d = new Date(value);
  const iso = Number.isNaN(d.getTime()) ? undefined : d.toISOString();
  if (iso === undefined || !ISO_TIME.test(iso)) {
    throw new TerminalError('internal', `${what} ${JSON.stringify(value)} is not a time between years 0000 and 9999; expected an ISO 8601 time`, {
      code: 'metadata.invalid-key',
    });
  }
  return iso;
}

/** Sort key of batch `batch` of a timelabel's delivery: `<timelabel>#<000001>`. */
function deliverySk(timelabel: string, batch: number): string {
  if (!Number.isInteger(batch) || batch < 1 || batch > MAX_DELIVERY_BATCH) {
    throw new TerminalError('internal', `delivery batch ${batch} is outside 1..${MAX_DELIVERY_BATCH}; expected the key width to hold it`, {
      code: 'metadata.invalid-key',
    });
  }
  return `${checkTimelabel(timelabel)}${SEP}${String(batch).padStart(DELIVERY_BATCH_DIGITS, '0')}`;
}

function slicePk(slice: string): string {
  return `SLICE${SEP}${checkKeyPart('slice', slice)}`;
}

export const keys = {
  installation(): ItemKey {
    return { pk: 'INSTALLATION', sk: CONFIG_SK };
  },
  sliceConfig(slice: string): ItemKey {
    return { pk: slicePk(slice), sk: CONFIG_SK };
  },
  /** For a scan: slice configs are the only `CONFIG` items under a `SLICE#` partition. */
  sliceConfigScan: { pkPrefix: `SLICE${SEP}`, sk: CONFIG_SK },
  slicePartition(slice: string): string {
    return slicePk(slice);
  },
  loadunit(slice: string, loadunit: string): ItemKey {
    return { pk: slicePk(slice), sk: `${LOADUNIT_PREFIX}${checkKeyPart('loadunit', loadunit)}` };
  },
  loadunitPrefix: LOADUNIT_PREFIX,
  batch(slice: string, loadunit: string, timelabel: string): ItemKey {
    return {
      pk: slicePk(slice),
      sk: `${BATCH_PREFIX}${checkKeyPart('loadunit', loadunit)}${SEP}${checkTimelabel(timelabel)}`,
    };
  },
  /** All batches of a slice, or of one loadunit (the trailing `#` keeps `orders` from matching `orders_archive`). */
  batchPrefix(loadunit?: string): string {
    return loadunit === undefined ? BATCH_PREFIX : `${BATCH_PREFIX}${checkKeyPart('loadunit', loadunit)}${SEP}`;
  },
  schemaPartition(slice: string, dataset: string): string {
    return `${slicePk(slice)}${SEP}SCHEMA${SEP}${checkKeyPart('dataset', dataset)}`;
  },
  schemaVersion(slice: string, dataset: string, version: number): ItemKey {
    return { pk: keys.schemaPartition(slice, dataset), sk: versionSk(`schema ${dataset}`, version) };
  },
  schemaVersionPrefix: SCHEMA_VERSION_PREFIX,
  eventsPartition(slice: string): string {
    return `${slicePk(slice)}${SEP}EVENTS`;
  },
  event(slice: string, time: string, id: string): ItemKey {
    return { pk: keys.eventsPartition(slice), sk: `${time}${SEP}${checkKeyPart('event id', id)}` };
  },
  viewPartition(organizeSlice: string, view: string): string {
    return `${slicePk(organizeSlice)}${SEP}VIEW${SEP}${checkKeyPart('view', view)}`;
  },
  viewVersion(organizeSlice: string, view: string, version: number): ItemKey {
    return { pk: keys.viewPartition(organizeSlice, view), sk: versionSk(`view ${view}`, version) };
  },
  viewVersionPrefix: SCHEMA_VERSION_PREFIX,
  /** Lists the views of an organize slice without a scan, which a `LeadingKeys`-limited role cannot do. */
  viewIndexPartition(organizeSlice: string): string {
    return `${slicePk(organizeSlice)}${SEP}VIEWS`;
  },
  viewIndex(organizeSlice: string, view: string): ItemKey {
    return { pk: keys.viewIndexPartition(organizeSlice), sk: `${VIEW_INDEX_PREFIX}${checkKeyPart('view', view)}` };
  },
  viewIndexPrefix: VIEW_INDEX_PREFIX,
  updateSetPartition(organizeSlice: string): string {
    return `${slicePk(organizeSlice)}${SEP}UPDATESETS`;
  },
  updateSet(organizeSlice: string, id: string): ItemKey {
    return { pk: keys.updateSetPartition(organizeSlice), sk: `${UPDATE_SET_PREFIX}${checkKeyPart('update set id', id)}` };
  },
  updateSetPrefix: UPDATE_SET_PREFIX,
  /** Batches a harness slice delivered outside the installation (a webhook receiver), one item per timelabel and batch. */
  deliveriesPartition(slice: string): string {
    return `${slicePk(slice)}${SEP}DELIVERIES`;
  },
  delivery(slice: string, timelabel: string, batch: number): ItemKey {
    return { pk: keys.deliveriesPartition(slice), sk: deliverySk(timelabel, batch) };
  },
  /** Batches a harness slice gave up delivering, one item per timelabel and batch. */
  deadLettersPartition(slice: string): string {
    return `${slicePk(slice)}${SEP}DEADLETTERS`;
  },
  deadLetter(slice: string, timelabel: string, batch: number): ItemKey {
    return { pk: keys.deadLettersPartition(slice), sk: deliverySk(timelabel, batch) };
  },
  /** The batches of one timelabel in either partition (the trailing `#` is part of the sort key's layout). */
  deliveryTimelabelPrefix(timelabel: string): string {
    return `${checkTimelabel(timelabel)}${SEP}`;
  },
  /** Remembers the time an event id was first written, so a retry lands on the same item. */
  eventIdMarker(slice: string, id: string): ItemKey {
    return { pk: keys.eventsPartition(slice), sk: `${EVENT_ID_PREFIX}${checkKeyPart('event id', id)}` };
  },
  /**
   * The customer's vendor controls live outside every `SLICE#` partition, so no
   * slice role's `LeadingKeys` grant reaches them: the upgrade window (one item)
   * and the audit of what the vendor's roles did (time-ordered, like events).
   */
  upgradeWindow(): ItemKey {
    return { pk: VENDOR_PK, sk: 'UPGRADE_WINDOW' };
  },
  vendorAuditPartition: `${VENDOR_PK}${SEP}AUDIT`,
  vendorAction(time: string, id: string): ItemKey {
    return { pk: keys.vendorAuditPartition, sk: `${time}${SEP}${checkKeyPart('vendor action id', id)}` };
  },
};
