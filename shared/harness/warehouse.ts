/**
 * Which warehouse user a publication reads its dataset as: its own
 * (`warehouse.secret` in its config, a user GRANTed SELECT on just that
 * dataset) or the installation's. The same rule locally and in AWS, where the
 * harness stack also grants the role that one secret and no other warehouse secret.
 */
import type { SliceSpec } from '../flow/types.ts';
import type { SliceDefinition } from '../slice.ts';
import type { Services } from '../runtime/services.ts';
import { connectWarehouse, type WarehouseTarget } from '../../slices/organize/redshift/warehouse.ts';
import type { WarehouseDialectName } from './publication.ts';
import type pg from 'pg';

/** The installation's warehouse, with the publication's own secret in place of its secret when the config names one. */
export function publicationWarehouse(installation: WarehouseTarget, publication: SliceSpec, findType: (type: string) => SliceDefinition<unknown> | undefined): WarehouseTarget {
  const own = findType(publication.type)?.harness?.warehouseSecret(publication.config);
  return own === undefined ? installation : { ...installation, secret: own };
}

/** What `publishAll`'s `connect` answers, named `reef-harness` in the warehouse's session list. */
export async function connectPublicationWarehouse(
  services: Services,
  installation: WarehouseTarget,
  publication: SliceSpec,
  findType: (type: string) => SliceDefinition<unknown> | undefined,
): Promise<{ client: pg.Client; dialect: WarehouseDialectName }> {
  const target = publicationWarehouse(installation, publication, findType);
  return { client: await connectWarehouse(services, target, 'reef-harness'), dialect: target.dialect };
}
