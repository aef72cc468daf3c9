/**
 * A whole installation as CDK stacks: one core stack and one stack per slice,
 * from a loaded Flow. Kept apart from app.ts so tests synthesize exactly what
 * `cdk synth` does, from Flow objects they build themselves.
 */
import { CfnOutput, Tags, Validations, type App, type Environment, type Stack } from 'aws-cdk-lib';
import pkg from '../package.json' with { type: 'json' };
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { Flow } from '../shared/flow/types.ts';
import { ORGANIZE_SLICE } from '../shared/slice.ts';
import { coreStackId, REEF_VERSION_OUTPUT, SLICE_KINDS, sliceStackId } from '../shared/stack-names.ts';
import { findSliceType, sliceTypes } from '../slices/registry.ts';
import { CollectSliceStack } from './collect-slice-stack.ts';
import { CoreStack } from './core-stack.ts';
import { HarnessSliceStack } from './harness-slice-stack.ts';
import { OrganizeSliceStack } from './organize-slice-stack.ts';

export interface Installation {
  core: CoreStack;
  /** By slice name (collect and harness slices); the organize slice under ORGANIZE_SLICE when the flow names a warehouse. */
  slices: Map<string, Stack>;
}

export { coreStackId, sliceStackId };

export function buildInstallation(app: App, flow: Flow): Installation {
  const name = flow.installation.name;
  const { account, region } = flow.installation;
  // Left undefined, stacks stay environment-agnostic: synth needs no credentials.
  const env: Environment | undefined = account || region ? { account, region } : undefined;
  Tags.of(app).add('reef:installation', name);

  const warehouse = flow.installation.warehouse;
  const collectSlices = flow.sources.map((s) => s.slice);
  const core = new CoreStack(app, coreStackId(name), {
    installation: name,
    env,
    description: `Reef ${name}: metadata table, lake bucket and key, event bus, notifications${warehouse?.createServerless ? ', Redshift Serverless warehouse' : ''}`,
    warehouse: warehouse && { spec: warehouse, collectSlices },
    notifications: flow.installation.notifications,
    vendor: flow.installation.vendor && { spec: flow.installation.vendor, sliceStackNames: SLICE_KINDS.map((kind) => sliceStackId(name, kind, '*')) },
  });

  const slices = new Map<string, Stack>();
  for (const spec of flow.sources) {
    const definition = findSliceType(spec.type);
    if (!definition) throw new Error(`${spec.file}: type: found ${JSON.stringify(spec.type)}, expected a registered slice type`);
    switch (definition.kind) {
      case 'collect':
        slices.set(
          spec.slice,
          new CollectSliceStack(app, sliceStackId(name, definition.kind, spec.slice), {
            installation: name,
            spec,
            definition,
            core,
            env,
            description: `Reef ${name}: collect slice ${spec.slice} (${definition.type})`,
          }),
        );
        break;
      default:
        throw new Error(`${spec.file}: slice kind ${definition.kind} (${definition.type}) cannot be deployed yet; expected a collect slice`);
    }
  }
  if (warehouse) {
    // The warehouse section is the organize slice's config; its type is `organize/<warehouse.type>`.
    const definition = sliceTypes.find((d) => d.kind === 'organize' && d.type === `organize/${warehouse.type}`);
    if (!definition) throw new Error(`reef.yaml: warehouse.type: found ${JSON.stringify(warehouse.type)}, expected a warehouse type with a registered organize slice`);
    slices.set(
      ORGANIZE_SLICE,
      new OrganizeSliceStack(app, sliceStackId(name, definition.kind, ORGANIZE_SLICE), {
        installation: name,
        warehouse,
        collectSlices,
        definition,
        core,
        env,
        description: `Reef ${name}: organize slice (${definition.type}), loads into the warehouse and refreshes the views`,
      }),
    );
  }
  for (const spec of flow.publications) {
    const definition = findSliceType(spec.type);
    if (definition?.kind !== 'harness' || !definition.harness) throw new Error(`${spec.file}: type: found ${JSON.stringify(spec.type)}, expected a registered harness slice type`);
    if (!warehouse) throw new Error(`${spec.file}: found a publication, but reef.yaml names no warehouse; expected reef.yaml's warehouse, which holds the datasets it publishes`);
    const dataset = definition.harness.dataset(spec.config);
    // A view's keys are in the organize slice's metadata; a collected table's in its collect slice's stored config.
    const source = dataset.slice(0, dataset.indexOf('.'));
    const isView = flow.views.some((v) => v.name === dataset);
    slices.set(
      spec.slice,
      new HarnessSliceStack(app, sliceStackId(name, definition.kind, spec.slice), {
        installation: name,
        spec,
        definition,
        warehouse,
        datasetSource: !isView && flow.sources.some((s) => s.slice === source) ? source : undefined,
        core,
        env,
        description: `Reef ${name}: harness slice ${spec.slice} (${definition.type}), publishes ${dataset}`,
      }),
    );
  }
  // The vendor's grants on each slice live in that slice's stack, naming its resources exactly.
  if (core.vendorRoles) for (const [slice, stack] of slices) core.vendorRoles.grantSlice(stack, slice);
  for (const stack of [core, ...slices.values()]) new CfnOutput(stack, REEF_VERSION_OUTPUT, { value: pkg.version, description: 'The Reef version that synthesized this stack' });
  return { core, slices };
}

/** cdk-nag's AWS Solutions and Serverless packs over the whole app; findings are acknowledged where they arise, each with its reason. */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}
